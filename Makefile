# unetd developer entry points. `make deps` once (as root), then `make test` / `make build` / `make bench`.
SWIFT ?= $(shell command -v swift || echo /opt/swift/usr/bin/swift)
PREFIX ?= /usr/local
APT_PACKAGES = libopenblas-dev libtiff-dev libpng-dev libisal-dev libsystemd-dev libsqlite3-dev libxml2 pkg-config
# The web page's browser tests drive a real headless Chromium (part of make test; make test-browser runs them alone).
APT_PACKAGES += chromium chromium-driver
# No OPENBLAS_* or UNET_CPU here: tests and benchmarks run as systemd runs the daemon.
BENCH_MODEL ?= Tests/Fixtures/engine/bare_transposed_c2.pth

.PHONY: deps build release test test-browser bench demo default-model install clean

deps:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

build:
	$(SWIFT) build

release:
	$(SWIFT) build -c release

test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

# The web page in headless Chromium alone (screenshots in .build/browser-screenshots).
test-browser: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --filter BrowserTests

bench: release
	.build/release/unet bench --model $(BENCH_MODEL) --tile 256 --threads 2

demo: release
	scripts/demo.sh

# Retrains the embedded default model, an instance model (python3 with numpy, scipy, scikit-image and
# pillow; about 22 minutes on 2 cores): the 107 BBBC038v1 tiles of ../shared/data/nuclei (CC0) and the
# crops of two public H&E images, all as instance maps at 0.5 um/px. 20 epochs at lr 1e-3, then 12 at
# 3e-4 from the checkpoint; best.safetensors is chosen by validation object F1. Figures: BENCHMARKS.md.
DEFAULT_MODEL_NOTE = Demonstration model, not for diagnosis: width-16 instance U-Net (distance map, split at its saddles) trained by unet train on image set BBBC038v1 (107 stained tissue tiles, 4,550 nuclei, CC0; Caicedo et al., Nature Methods 2019: 'We used image set BBBC038v1, available from the Broad Bioimage Benchmark Collection') resampled to 0.5 um/px, and 12 crops of two public H&E images (tiatoolbox target_image, TCIA histo via stardist; BSD-3) with nuclei from colour deconvolution; 0.5 um/px.
DEFAULT_MODEL_TRAIN = .build/release/unet train --data .build/default-model-data --out .build/default-model-run --width 16 --tile 128 \
	--batch 8 --samples-per-image 8 --val-fraction 0.15 --seed 1 --loss bce --class-name Nucleus --note "$(DEFAULT_MODEL_NOTE)"
default-model: release
	rm -rf .build/default-model-data .build/default-model-run
	python3 scripts/make_default_model_data.py .build/default-model-data
	$(DEFAULT_MODEL_TRAIN) --epochs 20 --lr 1e-3
	$(DEFAULT_MODEL_TRAIN) --epochs 32 --lr 3e-4 --resume
	cp .build/default-model-run/best.safetensors Sources/DefaultModel/Resources/default-model.safetensors

# Binaries, the default model, the configuration, the unit and the sysusers entry.
install: release
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/unetd $(DESTDIR)$(PREFIX)/etc/unetd \
		$(DESTDIR)/etc/systemd/system $(DESTDIR)/usr/lib/sysusers.d $(DESTDIR)$(PREFIX)/share/doc/unetd
	install -m 0755 .build/release/unet .build/release/unetd .build/release/unetctl $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 Sources/DefaultModel/Resources/default-model.safetensors $(DESTDIR)$(PREFIX)/share/unetd/
	install -d $(DESTDIR)$(PREFIX)/share/unetd/web
	install -m 0644 Sources/WebAssets/Resources/web/* $(DESTDIR)$(PREFIX)/share/unetd/web/
	test -e $(DESTDIR)$(PREFIX)/etc/unetd/unetd.toml || install -m 0644 etc/unetd/unetd.toml $(DESTDIR)$(PREFIX)/etc/unetd/
	install -m 0644 systemd/unetd.service systemd/unetd@.service $(DESTDIR)/etc/systemd/system/
	install -m 0644 systemd/unetd.sysusers $(DESTDIR)/usr/lib/sysusers.d/unetd.conf
	install -m 0644 README.md $(DESTDIR)$(PREFIX)/share/doc/unetd/
	@echo "installed; then: systemd-sysusers && systemctl daemon-reload && systemctl enable --now unetd"

clean:
	rm -rf .build

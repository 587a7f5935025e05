#!/usr/bin/env python3
"""Golden fixtures for training: one forward/backward in train mode and one Adam step, by PyTorch.

    python3 scripts/make_training_fixtures.py      # writes Tests/Fixtures/training/*.safetensors

For a width-2 U-Net (bilinear and transposed variants, conv bias on, 1 class), batch 2, 48x32 input
crops of real H&E (tia_target_image.png) and a BreCaHAD-style circle mask as target, it records:
  param.KEY         the state dict before the step (running stats included)
  input, target     the batch
  loss              BCEWithLogitsLoss (mean), and loss_dice for the BCE+Dice variant
  grad.KEY          d loss / d parameter
  after.KEY         parameters after one torch.optim.Adam(lr=1e-3) step
  running.KEY       BatchNorm running_mean / running_var after the train-mode forward
"""
import os
import sys

import numpy as np
import torch
import torch.nn as nn
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from make_fixtures import write_safetensors  # noqa: E402
from unet_model import UNet, randomise_batchnorm  # noqa: E402

REPO = os.path.dirname(HERE)
OUT = os.path.join(REPO, "Tests", "Fixtures", "training")
TIA = os.path.join(os.path.dirname(REPO), "shared", "data", "he", "tia_target_image.png")


def batch():
    image = np.asarray(Image.open(TIA).convert("RGB"), dtype=np.float32) / 255
    crops = [image[100:132, 200:248], image[600:632, 500:548]]
    x = torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).contiguous()
    yy, xx = np.mgrid[0:32, 0:48]
    t0 = ((yy - 10) ** 2 + (xx - 12) ** 2 <= 64).astype(np.float32)
    t1 = ((yy - 20) ** 2 + (xx - 30) ** 2 <= 100).astype(np.float32)
    return x, torch.from_numpy(np.stack([t0, t1]))[:, None]


def dice_loss(logits, target):
    p = torch.sigmoid(logits)
    inter = (p * target).sum(dim=(1, 2, 3))
    return 1 - ((2 * inter + 1) / (p.sum(dim=(1, 2, 3)) + target.sum(dim=(1, 2, 3)) + 1)).mean()


def main():
    os.makedirs(OUT, exist_ok=True)
    x, t = batch()
    for stem, bilinear in (("train_bilinear", True), ("train_transposed", False)):
        torch.manual_seed(1)
        model = UNet(3, 1, bilinear=bilinear, width=2, bias=True)
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
        randomise_batchnorm(model)
        before = {k: v.clone() for k, v in model.state_dict().items() if v.dtype == torch.float32}
        model.train()
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        logits = model(x)
        loss = nn.BCEWithLogitsLoss()(logits, t)
        combined = loss + dice_loss(logits, t)
        grads_dice = torch.autograd.grad(combined, list(model.parameters()), retain_graph=True)
        opt.zero_grad()
        loss.backward()
        names = [n for n, _ in model.named_parameters()]
        grads = {n: p.grad.clone() for n, p in model.named_parameters()}
        opt.step()
        tensors = [("input", x), ("target", t), ("loss", loss.detach().reshape(1)),
                   ("loss_dice", combined.detach().reshape(1)), ("logits", logits.detach())]
        tensors += [("param." + k, v) for k, v in before.items()]
        tensors += [("grad." + n, grads[n]) for n in names]
        tensors += [("grad_dice." + n, g) for n, g in zip(names, grads_dice)]
        tensors += [("after." + n, p.detach()) for n, p in model.named_parameters()]
        tensors += [("running." + k, v) for k, v in model.state_dict().items() if "running" in k]
        write_safetensors(os.path.join(OUT, stem + ".safetensors"), tensors,
                          {"generator": "scripts/make_training_fixtures.py", "torch": torch.__version__})
        print(stem, "loss", float(loss), "bce+dice", float(combined), os.path.getsize(os.path.join(OUT, stem + ".safetensors")))


if __name__ == "__main__":
    main()

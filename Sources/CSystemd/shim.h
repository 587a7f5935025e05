// libsystemd: sd_notify and the journal. Imported only by DaemonKit.
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>

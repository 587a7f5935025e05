// OpenBLAS's CBLAS interface plus its threading controls. Imported only by UNetEngine.
#include <cblas.h>

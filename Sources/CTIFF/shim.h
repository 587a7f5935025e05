// libtiff. Imported only by SlideIO.
#include <tiffio.h>

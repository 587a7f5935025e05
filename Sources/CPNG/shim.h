// libpng. Imported only by SlideIO.
#include <png.h>

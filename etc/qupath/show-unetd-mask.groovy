/**
 * QuPath (0.3 or later): shows a unetd NAME.mask.tif as a green overlay on the slide open in the viewer.
 *
 * Open the slide, then Automate > Show script editor, paste this script, set maskPath, and Run.
 * The mask is read from the level nearest `downsample` (the pyramid has halves down to 1,024 px), so
 * a whole slide fits in memory; QuPath scales the overlay to the slide. Run it again with another
 * path to switch masks.
 *
 * Pattern from Pete Bankhead's answer on forum.image.sc ("Rendering WSI as overlay on top of another WSI").
 */
import qupath.lib.color.ColorModelFactory
import qupath.lib.common.ColorTools
import qupath.lib.gui.viewer.overlays.BufferedImageOverlay
import qupath.lib.images.servers.ImageServerProvider
import qupath.lib.regions.RegionRequest
import java.awt.image.BufferedImage
import static qupath.lib.gui.scripting.QPEx.*

def maskPath = "/srv/lab/outbox/NAME.mask.tif"   // <- the mask to show
double downsample = 8                          // 1 = full resolution (large slides: keep 8 or more)

def server = ImageServerProvider.buildServer(maskPath, BufferedImage)
def slide = getCurrentServer()
if (server.getWidth() != slide.getWidth() || server.getHeight() != slide.getHeight())
    print "warning: the mask is ${server.getWidth()}×${server.getHeight()}, the slide ${slide.getWidth()}×${slide.getHeight()}"
def mask = server.readRegion(RegionRequest.createInstance(server.getPath(), downsample, 0, 0, server.getWidth(), server.getHeight()))
// 0 transparent, 255 (foreground) green at half opacity.
def colours = ColorModelFactory.createIndexedColorModel([0: ColorTools.packARGB(0, 0, 0, 0), 255: ColorTools.packARGB(128, 0, 200, 0)], true)
def overlay = new BufferedImageOverlay(getCurrentViewer(), new BufferedImage(colours, mask.getRaster(), false, null))
getCurrentViewer().setCustomPixelLayerOverlay(overlay)
print "showing ${maskPath}"

import javax.imageio.ImageIO;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.GradientPaint;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.Ellipse2D;
import java.awt.geom.RoundRectangle2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Draws the app icon (an image frame with a bar chart, read by an eye-like lens) and writes
 * convllava.png (256 px, Linux), convllava.ico (Windows, PNG-compressed entries) and
 * convllava.icns (macOS, ic08/ic07 PNG entries). Run once: {@code java -Djava.awt.headless=true MakeIcon.java DIR}.
 */
public class MakeIcon {
    public static void main(String[] args) throws IOException {
        Path dir = Path.of(args.length > 0 ? args[0] : ".");
        Files.write(dir.resolve("convllava.png"), png(draw(256)));
        int[] icoSizes = {16, 32, 48, 256};
        ByteArrayOutputStream ico = new ByteArrayOutputStream();
        byte[][] pngs = new byte[icoSizes.length][];
        for (int i = 0; i < icoSizes.length; i++) {
            pngs[i] = png(draw(icoSizes[i]));
        }
        ByteBuffer head = ByteBuffer.allocate(6 + 16 * icoSizes.length).order(ByteOrder.LITTLE_ENDIAN);
        head.putShort((short) 0).putShort((short) 1).putShort((short) icoSizes.length);
        int offset = 6 + 16 * icoSizes.length;
        for (int i = 0; i < icoSizes.length; i++) {
            int s = icoSizes[i];
            head.put((byte) (s >= 256 ? 0 : s)).put((byte) (s >= 256 ? 0 : s)).put((byte) 0).put((byte) 0)
                    .putShort((short) 1).putShort((short) 32).putInt(pngs[i].length).putInt(offset);
            offset += pngs[i].length;
        }
        ico.write(head.array());
        for (byte[] p : pngs) {
            ico.write(p);
        }
        Files.write(dir.resolve("convllava.ico"), ico.toByteArray());
        byte[] ic08 = png(draw(256));
        byte[] ic07 = png(draw(128));
        ByteArrayOutputStream icns = new ByteArrayOutputStream();
        DataOutputStream d = new DataOutputStream(icns);
        d.writeBytes("icns");
        d.writeInt(8 + 8 + ic07.length + 8 + ic08.length);
        d.writeBytes("ic07");
        d.writeInt(8 + ic07.length);
        d.write(ic07);
        d.writeBytes("ic08");
        d.writeInt(8 + ic08.length);
        d.write(ic08);
        Files.write(dir.resolve("convllava.icns"), icns.toByteArray());
    }

    static byte[] png(BufferedImage img) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        ImageIO.write(img, "png", b);
        return b.toByteArray();
    }

    static BufferedImage draw(int size) {
        BufferedImage img = new BufferedImage(size, size, BufferedImage.TYPE_INT_ARGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setRenderingHint(RenderingHints.KEY_STROKE_CONTROL, RenderingHints.VALUE_STROKE_PURE);
        g.scale(size / 256.0, size / 256.0);
        // rounded tile, indigo to teal
        g.setPaint(new GradientPaint(0, 0, new Color(0x3b, 0x4c, 0xca), 256, 256, new Color(0x0f, 0x9b, 0x8e)));
        g.fill(new RoundRectangle2D.Double(8, 8, 240, 240, 56, 56));
        // the "image": a white frame with a bar chart
        g.setColor(new Color(255, 255, 255, 235));
        g.fill(new RoundRectangle2D.Double(40, 52, 132, 112, 14, 14));
        g.setColor(new Color(0x3b, 0x4c, 0xca));
        int[][] bars = {{54, 118}, {80, 92}, {106, 74}, {132, 104}};
        for (int[] b : bars) {
            g.fillRect(b[0], b[1], 20, 150 - b[1]);
        }
        // the "reading": a lens over the tallest bar
        g.setStroke(new BasicStroke(14, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND));
        g.setColor(Color.WHITE);
        g.draw(new Ellipse2D.Double(116, 98, 72, 72));
        g.drawLine(178, 160, 214, 196);
        g.setColor(new Color(255, 255, 255, 70));
        g.fill(new Ellipse2D.Double(123, 105, 58, 58));
        g.dispose();
        return img;
    }
}

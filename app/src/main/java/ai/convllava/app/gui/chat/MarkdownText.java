package ai.convllava.app.gui.chat;

import javafx.geometry.Point2D;
import javafx.geometry.Pos;
import javafx.scene.Node;
import javafx.scene.control.Label;
import javafx.scene.control.Separator;
import javafx.scene.input.Clipboard;
import javafx.scene.input.ClipboardContent;
import javafx.scene.input.KeyCode;
import javafx.scene.input.KeyEvent;
import javafx.scene.input.MouseButton;
import javafx.scene.input.MouseEvent;
import javafx.scene.layout.GridPane;
import javafx.scene.layout.HBox;
import javafx.scene.layout.Priority;
import javafx.scene.layout.Region;
import javafx.scene.layout.StackPane;
import javafx.scene.layout.VBox;
import javafx.scene.shape.Path;
import javafx.scene.text.Text;
import javafx.scene.text.TextAlignment;
import javafx.scene.text.TextFlow;
import org.commonmark.ext.gfm.tables.TableBlock;
import org.commonmark.ext.gfm.tables.TableCell;
import org.commonmark.ext.gfm.tables.TableRow;
import org.commonmark.ext.gfm.tables.TablesExtension;
import org.commonmark.node.BlockQuote;
import org.commonmark.node.BulletList;
import org.commonmark.node.Code;
import org.commonmark.node.Emphasis;
import org.commonmark.node.FencedCodeBlock;
import org.commonmark.node.HardLineBreak;
import org.commonmark.node.Heading;
import org.commonmark.node.HtmlBlock;
import org.commonmark.node.HtmlInline;
import org.commonmark.node.IndentedCodeBlock;
import org.commonmark.node.Link;
import org.commonmark.node.ListBlock;
import org.commonmark.node.OrderedList;
import org.commonmark.node.SoftLineBreak;
import org.commonmark.node.SourceSpan;
import org.commonmark.node.StrongEmphasis;
import org.commonmark.node.ThematicBreak;
import org.commonmark.parser.IncludeSourceSpans;
import org.commonmark.parser.Parser;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.IntConsumer;

/**
 * An answer's Markdown, as the models write it (paragraphs, headings, lists, emphasis, code spans and
 * blocks, GFM tables), rendered into JavaFX nodes whose text the reader can select and copy.
 *
 * <p>Each paragraph, heading, code block and table cell is a {@link TextFlow} of {@link Text}s (Text
 * in a TextFlow cannot be selected by itself): one selection runs over all of them in reading order,
 * set by dragging (Shift+click extends it, a double click takes a word, Ctrl+A everything), drawn
 * behind the text from {@link TextFlow#rangeShape}, and copied with Ctrl+C as the text shown (blocks
 * on their own lines, table cells separated by tabs). When the answer has heatmap words, its text is
 * split at their starts (by the parser's source positions) so that a click on a word can open its map.
 */
public final class MarkdownText {
    private static final Parser PARSER = Parser.builder().extensions(List.of(TablesExtension.create()))
            .includeSourceSpans(IncludeSourceSpans.BLOCKS_AND_INLINES).build();

    /** One flow of selectable text, the highlight behind it, and where its text is in {@link #shownText()}. */
    private static final class Run {
        final TextFlow flow = new TextFlow();
        final Path highlight = new Path();
        final StackPane holder = new StackPane(highlight, flow);
        int start;
        int length;

        Run() {
            highlight.getStyleClass().add("md-selection");
            highlight.setManaged(false);
            highlight.layoutXProperty().bind(flow.layoutXProperty());
            highlight.layoutYProperty().bind(flow.layoutYProperty());
            holder.setAlignment(Pos.TOP_LEFT);
        }
    }

    private final VBox root = new VBox();
    private final List<Run> runs = new ArrayList<>();
    private final StringBuilder shown = new StringBuilder();
    private String source = "";
    private int[] lineStarts = {0};
    private int[] wordStarts;
    private IntConsumer onWord = k -> { };
    private int anchor;
    private int caret;

    public MarkdownText() {
        root.getStyleClass().addAll("markdown", "message-text");
        root.getProperties().put(MarkdownText.class, this);
        root.addEventHandler(MouseEvent.MOUSE_PRESSED, this::pressed);
        root.addEventHandler(MouseEvent.MOUSE_DRAGGED, e -> {
            if (e.getButton() == MouseButton.PRIMARY) {
                caret = indexAt(e.getSceneX(), e.getSceneY());
                updateHighlight();
            }
        });
        root.addEventHandler(KeyEvent.KEY_PRESSED, e -> {
            if (e.isShortcutDown() && e.getCode() == KeyCode.C && !selectedText().isEmpty()) {
                copy(selectedText());
                e.consume();
            } else if (e.isShortcutDown() && e.getCode() == KeyCode.A) {
                select(0, shown.length());
                e.consume();
            }
        });
    }

    /** The MarkdownText a node of the chat shows, or null (tests and the chat's context menu). */
    public static MarkdownText of(Node n) {
        Object o = n.getProperties().get(MarkdownText.class);
        return o instanceof MarkdownText m ? m : null;
    }

    public Node root() {
        return root;
    }

    /**
     * Shows {@code markdown}; {@code wordStarts} (ascending offsets into it, or null) are where the
     * heatmap's words begin. The selection is kept (clipped to the new text): an answer is rendered
     * again as it grows.
     */
    public void setMarkdown(String markdown, int[] wordStarts) {
        source = markdown == null ? "" : markdown;
        this.wordStarts = wordStarts;
        lineStarts = lineStarts(source);
        runs.clear();
        shown.setLength(0);
        root.getChildren().setAll(blocks(PARSER.parse(source)));
        anchor = Math.min(anchor, shown.length());
        caret = Math.min(caret, shown.length());
        updateHighlight();
    }

    /** What a click on a word does: gets the word's index in {@code wordStarts}. */
    public void setOnWordClicked(IntConsumer action) {
        onWord = action;
    }

    /** The text as shown (without the Markdown syntax): blocks on their own lines, table cells separated by tabs. */
    public String shownText() {
        return shown.toString();
    }

    public String selectedText() {
        return shown.substring(Math.min(anchor, caret), Math.max(anchor, caret));
    }

    /** Selects {@code [from, to)} of {@link #shownText()}. */
    public void select(int from, int to) {
        anchor = Math.max(0, Math.min(from, shown.length()));
        caret = Math.max(0, Math.min(to, shown.length()));
        updateHighlight();
    }

    // ---- rendering --------------------------------------------------------------------------------

    private List<Node> blocks(org.commonmark.node.Node parent) {
        List<Node> out = new ArrayList<>();
        for (org.commonmark.node.Node b = parent.getFirstChild(); b != null; b = b.getNext()) {
            out.add(block(b));
        }
        return out;
    }

    private Node block(org.commonmark.node.Node b) {
        if (b instanceof Heading h) {
            Run r = run("\n");
            r.holder.getStyleClass().addAll("md-heading", "md-h" + Math.min(3, h.getLevel()));
            inlines(b, r, List.of("md-heading-text"));
            return r.holder;
        }
        if (b instanceof FencedCodeBlock c) {
            return code(c.getLiteral());
        }
        if (b instanceof IndentedCodeBlock c) {
            return code(c.getLiteral());
        }
        if (b instanceof ListBlock l) {
            return list(l);
        }
        if (b instanceof BlockQuote) {
            VBox q = new VBox();
            q.getChildren().setAll(blocks(b));
            q.getStyleClass().add("md-quote");
            return q;
        }
        if (b instanceof ThematicBreak) {
            return new Separator();
        }
        if (b instanceof TableBlock) {
            return table(b);
        }
        Run r = run("\n");
        r.holder.getStyleClass().add("md-paragraph");
        if (b instanceof HtmlBlock h) {
            text(r, h.getLiteral().stripTrailing(), List.of(), -1);
        } else {
            inlines(b, r, List.of()); // a paragraph, or a block this renderer does not know: its inline text
        }
        return r.holder;
    }

    private Node code(String literal) {
        Run r = run("\n");
        text(r, literal.endsWith("\n") ? literal.substring(0, literal.length() - 1) : literal, List.of("md-code-block"), -1);
        r.holder.getStyleClass().add("md-code-box");
        return r.holder;
    }

    private Node list(ListBlock l) {
        VBox box = new VBox();
        box.getStyleClass().add("md-list");
        int n = l instanceof OrderedList o ? o.getStartNumber() : 0;
        for (org.commonmark.node.Node item = l.getFirstChild(); item != null; item = item.getNext()) {
            Label marker = new Label(l instanceof OrderedList ? (n++) + "." : "\u2022");
            marker.getStyleClass().add("md-list-marker");
            marker.setMinWidth(Region.USE_PREF_SIZE);
            VBox content = new VBox();
            content.getChildren().setAll(blocks(item));
            content.getStyleClass().add("md-list-item");
            HBox.setHgrow(content, Priority.ALWAYS);
            HBox row = new HBox(marker, content);
            row.getStyleClass().add("md-list-row");
            box.getChildren().add(row);
        }
        return box;
    }

    private Node table(org.commonmark.node.Node t) {
        GridPane grid = new GridPane();
        grid.getStyleClass().add("md-table");
        int row = 0;
        for (org.commonmark.node.Node section = t.getFirstChild(); section != null; section = section.getNext()) {
            for (org.commonmark.node.Node tr = section.getFirstChild(); tr != null; tr = tr.getNext()) {
                if (!(tr instanceof TableRow)) {
                    continue;
                }
                int col = 0;
                for (org.commonmark.node.Node c = tr.getFirstChild(); c != null; c = c.getNext()) {
                    Run r = run(col == 0 ? "\n" : "\t");
                    TableCell cell = (TableCell) c;
                    r.holder.getStyleClass().addAll("md-table-cell", cell.isHeader() ? "md-table-header" : "md-table-body");
                    if (cell.getAlignment() == TableCell.Alignment.RIGHT) {
                        r.flow.setTextAlignment(TextAlignment.RIGHT);
                    } else if (cell.getAlignment() == TableCell.Alignment.CENTER) {
                        r.flow.setTextAlignment(TextAlignment.CENTER);
                    }
                    inlines(c, r, cell.isHeader() ? List.of("md-strong") : List.of());
                    grid.add(r.holder, col++, row);
                }
                row++;
            }
        }
        return grid;
    }

    /** A new run of text; {@code separator} goes before it in the shown text (unless it is the first). */
    private Run run(String separator) {
        Run r = new Run();
        if (!runs.isEmpty()) {
            shown.append(separator);
        }
        r.start = shown.length();
        runs.add(r);
        return r;
    }

    private void inlines(org.commonmark.node.Node parent, Run r, List<String> styles) {
        for (org.commonmark.node.Node n = parent.getFirstChild(); n != null; n = n.getNext()) {
            if (n instanceof org.commonmark.node.Text t) {
                text(r, t.getLiteral(), styles, sourceOffset(n, t.getLiteral()));
            } else if (n instanceof Code c) {
                text(r, c.getLiteral(), with(styles, "md-code"), -1);
            } else if (n instanceof Emphasis) {
                inlines(n, r, with(styles, "md-em"));
            } else if (n instanceof StrongEmphasis) {
                inlines(n, r, with(styles, "md-strong"));
            } else if (n instanceof SoftLineBreak) {
                text(r, " ", styles, -1);
            } else if (n instanceof HardLineBreak) {
                text(r, "\n", styles, -1);
            } else if (n instanceof Link) {
                inlines(n, r, with(styles, "md-link"));
            } else if (n instanceof HtmlInline h) {
                text(r, h.getLiteral(), styles, -1);
            } else {
                inlines(n, r, styles); // an image's alt text, or an inline this renderer does not know
            }
        }
    }

    /**
     * Appends text to a run; {@code at} is its offset in the source when it is there verbatim (else -1),
     * and then it is cut where heatmap words start, each piece clickable.
     */
    private void text(Run r, String s, List<String> styles, int at) {
        if (s.isEmpty()) {
            return;
        }
        int from = 0;
        if (wordStarts != null && at >= 0) {
            int k = Arrays.binarySearch(wordStarts, at + 1);
            k = k >= 0 ? k : -k - 1; // the first word starting after the text's first character
            for (; k < wordStarts.length && wordStarts[k] < at + s.length(); k++) {
                add(r, s.substring(from, wordStarts[k] - at), styles, wordAt(at + from));
                from = wordStarts[k] - at;
            }
            add(r, s.substring(from), styles, wordAt(at + from));
            return;
        }
        add(r, s, styles, -1);
    }

    /** The index of the heatmap word that source offset {@code i} is in, or -1. */
    private int wordAt(int i) {
        int k = Arrays.binarySearch(wordStarts, i);
        return k >= 0 ? k : -k - 2;
    }

    private void add(Run r, String s, List<String> styles, int word) {
        if (s.isEmpty()) {
            return;
        }
        Text t = new Text(s);
        t.getStyleClass().add("md-text");
        t.getStyleClass().addAll(styles);
        if (word >= 0) {
            t.getStyleClass().add("answer-word");
            t.setOnMouseClicked(e -> {
                if (e.getButton() == MouseButton.PRIMARY && e.getClickCount() == 1 && e.isStillSincePress() && anchor == caret) {
                    onWord.accept(word);
                }
            });
        }
        r.flow.getChildren().add(t);
        r.length += s.length();
        shown.append(s);
    }

    private int sourceOffset(org.commonmark.node.Node n, String literal) {
        List<SourceSpan> spans = n.getSourceSpans();
        if (spans.size() != 1 || spans.get(0).getLength() != literal.length() || spans.get(0).getLineIndex() >= lineStarts.length) {
            return -1; // escapes or entities: the shown text is not the source's
        }
        int at = lineStarts[spans.get(0).getLineIndex()] + spans.get(0).getColumnIndex();
        return at + literal.length() <= source.length() && source.startsWith(literal, at) ? at : -1;
    }

    private static int[] lineStarts(String s) {
        List<Integer> starts = new ArrayList<>(List.of(0));
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\n' || c == '\r' && (i + 1 == s.length() || s.charAt(i + 1) != '\n')) {
                starts.add(i + 1);
            }
        }
        return starts.stream().mapToInt(Integer::intValue).toArray();
    }

    private static List<String> with(List<String> styles, String s) {
        List<String> l = new ArrayList<>(styles);
        l.add(s);
        return l;
    }

    // ---- selection --------------------------------------------------------------------------------

    private void pressed(MouseEvent e) {
        if (e.getButton() != MouseButton.PRIMARY) {
            return;
        }
        root.requestFocus();
        e.consume(); // else the scroll pane around the chat takes the focus, and with it Ctrl+C
        int i = indexAt(e.getSceneX(), e.getSceneY());
        if (e.getClickCount() == 2) {
            int from = i;
            int to = i;
            while (from > 0 && Character.isLetterOrDigit(shown.charAt(from - 1))) {
                from--;
            }
            while (to < shown.length() && Character.isLetterOrDigit(shown.charAt(to))) {
                to++;
            }
            anchor = from;
            caret = to;
        } else if (e.isShiftDown()) {
            caret = i;
        } else {
            anchor = i;
            caret = i;
        }
        updateHighlight();
    }

    /** The offset in the shown text under a scene point: in a run, or else the nearest run edge in reading order. */
    private int indexAt(double sceneX, double sceneY) {
        for (int k = 0; k < runs.size(); k++) {
            Run r = runs.get(k);
            Point2D p = r.flow.sceneToLocal(sceneX, sceneY);
            if (p == null) {
                continue;
            }
            double h = r.flow.getLayoutBounds().getHeight();
            if (p.getY() < 0 && (k == 0 || !sameRow(runs.get(k - 1), r))) {
                return r.start; // above this run (between blocks): its start
            }
            if (p.getY() <= h) {
                if (p.getX() > r.flow.getLayoutBounds().getWidth() && k + 1 < runs.size() && sameRow(r, runs.get(k + 1))) {
                    continue; // right of a table cell: the next cell of the row
                }
                int i = r.flow.hitTest(p).getInsertionIndex();
                return r.start + Math.max(0, Math.min(r.length, i));
            }
        }
        return shown.length();
    }

    /** Two runs side by side (cells of one table row). */
    private boolean sameRow(Run a, Run b) {
        return b.start > a.start + a.length && shown.charAt(a.start + a.length) == '\t';
    }

    private void updateHighlight() {
        int s = Math.min(anchor, caret);
        int e = Math.max(anchor, caret);
        for (Run r : runs) {
            int from = Math.max(s, r.start) - r.start;
            int to = Math.min(e, r.start + r.length) - r.start;
            if (from < to) {
                r.highlight.getElements().setAll(r.flow.rangeShape(from, to));
            } else {
                r.highlight.getElements().clear();
            }
        }
    }

    static void copy(String s) {
        ClipboardContent c = new ClipboardContent();
        c.putString(s);
        Clipboard.getSystemClipboard().setContent(c);
    }
}

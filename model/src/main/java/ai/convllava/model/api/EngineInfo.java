package ai.convllava.model.api;

import ai.convllava.model.diagnostics.EngineVersions;
import ai.convllava.model.image.PdfPages;
import ai.convllava.model.nn.LinearLayer;

/** What runs the model on this machine, for the self-test and diagnostics: one line each. */
public final class EngineInfo {
    private EngineInfo() {
    }

    /** Which code multiplies float16 weights with few rows (the Java kernel, or libtorch and why). */
    public static String halfKernelStatus() {
        return LinearLayer.halfKernelStatus();
    }

    /** Renders a page of text with the bundled PDF renderer: proves the runtime can open PDF documents. */
    public static String pdfSelfCheck() {
        return PdfPages.selfCheck();
    }

    public static String djlVersion() {
        return EngineVersions.djl();
    }

    /** Where DJL keeps the extracted libtorch. */
    public static String djlCacheDir() {
        return EngineVersions.djlCacheDir();
    }

    public static String pytorchVersion() {
        return EngineVersions.pytorch();
    }
}

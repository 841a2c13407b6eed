package ai.convllava.app.gui.common;

import ai.convllava.hub.DownloadException;
import ai.convllava.model.api.ConvLlavaException;

import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/** Turns a failure into the sentence the user sees. */
public final class Errors {
    private Errors() {
    }

    public static Throwable unwrap(Throwable t) {
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    public static boolean isCancellation(Throwable t) {
        return unwrap(t) instanceof CancellationException;
    }

    public static String message(Throwable t) {
        Throwable u = unwrap(t);
        if (u instanceof ConvLlavaException || u instanceof DownloadException || u instanceof IllegalArgumentException) {
            return u.getMessage();
        }
        if (u instanceof OutOfMemoryError) {
            return "not enough memory (" + u.getMessage() + "); try a smaller model, f16 weights, or close other programs";
        }
        return u.getMessage() != null ? u.getClass().getSimpleName() + ": " + u.getMessage() : u.toString();
    }
}

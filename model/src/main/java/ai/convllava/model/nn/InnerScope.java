package ai.convllava.model.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;

import java.util.function.Supplier;

/**
 * Runs a computation in an NDScope of its own, so its temporaries are freed as soon as it returns,
 * and hands its result to the caller's scope. An array belongs only to the scope that was innermost
 * when it was created; unregistering it there without registering it again in the caller's scope
 * leaves it in no scope at all, and nothing frees it (that is how the blocked float16 path of the
 * linear layers once kept GBs per 7B prefill).
 */
final class InnerScope {
    private InnerScope() {
    }

    static NDArray compute(Supplier<NDArray> body) {
        NDArray out;
        try (NDScope scope = new NDScope()) {
            out = body.get();
            NDScope.unregister(out);
        }
        NDScope.register(out);
        return out;
    }
}

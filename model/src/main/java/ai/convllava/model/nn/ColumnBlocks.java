package ai.convllava.model.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * A linear layer's product computed a block of output columns at a time (the float16 and the quantized
 * layers' many-row path, whose weights are widened to float32 block by block for libtorch's GEMM). Each
 * block's product is written into its columns of one result and closed before the next block is made, so
 * the allocator reuses one block's memory throughout; kept as parts for a concatenation at the end, every
 * block took fresh memory (the fifth vision stage's blocks touched that many more pages each).
 */
final class ColumnBlocks {
    /** The product of output columns [from, to) for the whole input: (..., to - from). */
    @FunctionalInterface
    interface Block {
        NDArray product(long from, long to);
    }

    private ColumnBlocks() {
    }

    /** x (..., in) -> (..., out), {@code blockColumns} output columns per block; the caller's scope owns the temporaries. */
    static NDArray compute(NDArray x, long out, long blockColumns, Block block) {
        if (blockColumns >= out) {
            return block.product(0, out);
        }
        long[] dims = x.getShape().getShape().clone();
        dims[dims.length - 1] = out;
        NDArray y = x.getManager().create(new Shape(dims), DataType.FLOAT32); // (..., in) -> (..., out), every column written below
        try {
            for (long c = 0; c < out; c += blockColumns) {
                long end = Math.min(out, c + blockColumns);
                try (NDArray part = block.product(c, end)) { // (..., end - c)
                    y.set(new NDIndex("..., {}:{}", c, end), part);
                }
            }
        } catch (RuntimeException e) {
            y.close();
            throw e;
        }
        return y;
    }
}

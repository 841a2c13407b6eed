package ai.convllava.model.engine;

import ai.convllava.model.api.ConvLlavaException;
import ai.convllava.model.nn.LlamaModel;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;

import java.util.ArrayList;
import java.util.List;

/**
 * A prompt's positions and their embeddings: token ids are looked up in the LLM's embedding table, and
 * the {@code <image>} placeholder (id -200) becomes the image's projected visual tokens, as
 * conv-llava's {@code prepare_inputs_labels_for_multimodal} splices them.
 */
final class PromptEmbedder {
    private final LlamaModel llm;
    private final NDManager manager;
    private final int vocabSize;

    PromptEmbedder(LlamaModel llm, NDManager manager, int vocabSize) {
        this.llm = llm;
        this.manager = manager;
        this.vocabSize = vocabSize;
    }

    /** One slot per position: each token id, and the image's N visual tokens in place of the placeholder. */
    List<Conversation.Slot> slotsOf(int[] ids, ImageFeatures image) {
        List<Conversation.Slot> slots = new ArrayList<>(ids.length + (image == null ? 0 : image.tokens()));
        boolean seen = false;
        for (int id : ids) {
            if (id == ConvLlava.IMAGE_TOKEN_INDEX) {
                if (image == null) {
                    throw new ConvLlavaException("the prompt has an <image> placeholder but no image was given");
                }
                if (seen) {
                    throw new ConvLlavaException("the prompt has more than one <image> placeholder; ConvLLaVA takes one image");
                }
                seen = true;
                for (int i = 0; i < image.tokens(); i++) {
                    slots.add(Conversation.Slot.image(image.key(), i));
                }
            } else {
                if (id < 0 || id >= vocabSize) {
                    throw new ConvLlavaException("token id " + id + " is outside the vocabulary (" + vocabSize + ")");
                }
                slots.add(Conversation.Slot.token(id));
            }
        }
        return slots;
    }

    /** Where the image's first visual token is among {@code slots}, or -1. */
    static int imageStart(List<Conversation.Slot> slots) {
        for (int i = 0; i < slots.size(); i++) {
            if (slots.get(i).imageKey() != null) {
                return i;
            }
        }
        return -1;
    }

    /** Embeddings (1, n, hidden) for slots[from:]; runs of tokens are embedded, image runs copied from the features. */
    NDArray embed(List<Conversation.Slot> slots, int from, ImageFeatures image) {
        NDList parts = new NDList();
        int i = from;
        while (i < slots.size()) {
            Conversation.Slot s = slots.get(i);
            int j = i;
            if (s.imageKey() == null) {
                while (j < slots.size() && slots.get(j).imageKey() == null) {
                    j++;
                }
                int[] ids = new int[j - i];
                for (int k = i; k < j; k++) {
                    ids[k - i] = slots.get(k).token();
                }
                parts.add(llm.embed(manager, ids));
            } else {
                while (j < slots.size() && slots.get(j).imageKey() != null) {
                    j++;
                }
                int a = s.index();
                int b = a + (j - i);
                parts.add(image.projected().get(new NDIndex(":, {}:{}, :", a, b))); // (1, N, hidden) -> (1, b-a, hidden)
            }
            i = j;
        }
        return parts.size() == 1 ? parts.get(0) : NDArrays.concat(parts, 1); // (1, n, hidden)
    }

    /** The embedding (1, 1, hidden) of one generated token. */
    NDArray embedToken(int id) {
        return llm.embed(manager, new int[] {id});
    }
}

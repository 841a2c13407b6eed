package ai.convllava.model.api;

/** What the engine is doing for an answer: encoding the image, reading the prompt, writing the answer. */
public enum Stage { ENCODING_IMAGE, READING_PROMPT, WRITING_ANSWER }

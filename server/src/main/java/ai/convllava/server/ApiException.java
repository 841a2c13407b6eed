package ai.convllava.server;

/**
 * A request the server answers with an error: the HTTP status and the OpenAI error object
 * ({@code {"error": {"message", "type", "param", "code"}}}), so that OpenAI clients raise their own
 * typed exception (BadRequestError, AuthenticationError, RateLimitError ...) with our message in it.
 */
public final class ApiException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final int status;
    private final String type;
    private final String param;
    private final String code;

    public ApiException(int status, String type, String param, String code, String message) {
        super(message);
        this.status = status;
        this.type = type;
        this.param = param;
        this.code = code;
    }

    /** 400: the request is wrong; {@code param} names the field (e.g. "messages[1].content[0].image_url.url"). */
    public static ApiException invalid(String param, String message) {
        return new ApiException(400, "invalid_request_error", param, null, message);
    }

    public int status() {
        return status;
    }

    public String type() {
        return type;
    }

    public String param() {
        return param;
    }

    public String code() {
        return code;
    }
}

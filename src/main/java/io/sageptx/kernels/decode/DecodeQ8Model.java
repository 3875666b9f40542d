package io.sageptx.kernels.decode;

import java.util.Map;

/** The parts of a decode kernel's model that only the quantized cache ({@code decode_q8.stg}) uses. */
final class DecodeQ8Model {

    private DecodeQ8Model() {
    }

    static void add(Map<String, Object> m, DecodeSpec s, DecodePlan p) {
        throw new UnsupportedOperationException("quantized decode: not yet");
    }
}

package io.sageptx.spec;

import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * How the wgmma kernel's main loop is scheduled, a field of {@link KernelSpec} (issue 12). {@link #SERIAL} is
 * every kernel written before it (and the only schedule of the mma.sync family): every warp copies K and V
 * with cp.async, and each warpgroup runs QK, softmax, PV and the flush one after the other, with a CTA barrier
 * per key block. {@link #WS} is the warp-specialized wgmma kernel: one producer warpgroup fills a ring of K/V
 * stages guarded by mbarriers while two consumer warpgroups overlap the next block's QK wgmma and the previous
 * block's PV wgmma with their softmax (docs/notes/wgmma-ws.md). Only a non-default value appears in a spec's
 * text forms, so older specs keep their names and keys.
 */
public enum Pipe {
    /** Copy, compute, barrier per block (the default; every kernel before issue 12). */
    SERIAL("serial"),
    /** Warp-specialized: a producer warpgroup and two consumer warpgroups (wgmma, FP8 PV with FP16 accumulators). */
    WS("ws"),
    /**
     * {@link #WS} with ping-pong of the two consumer warpgroups: named barriers let them issue their wgmmas in
     * turn, so that one's softmax runs under the other's tensor-core work.
     */
    WSPP("wspp");

    private final String id;

    Pipe(String id) {
        this.id = id;
    }

    /** The id of spec text, kernel names and CLI options ({@code serial}, {@code ws}). */
    public String id() {
        return id;
    }

    /** Whether this is the default schedule (then the spec's names carry nothing for it). */
    public boolean isDefault() {
        return this == SERIAL;
    }

    /** Whether this is a warp-specialized schedule (a producer warpgroup beside the consumers). */
    public boolean warpSpecialized() {
        return this == WS || this == WSPP;
    }

    /** Parses an id or a constant name, ignoring case. */
    public static Pipe parse(String text) {
        String t = text.trim();
        for (Pipe p : values()) {
            if (p.id.equalsIgnoreCase(t) || p.name().equalsIgnoreCase(t)) return p;
        }
        throw new IllegalArgumentException("pipe: '" + text + "' is not one of "
                + Arrays.stream(values()).map(Pipe::id).collect(Collectors.joining(", ")));
    }
}

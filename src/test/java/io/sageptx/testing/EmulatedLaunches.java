package io.sageptx.testing;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

import io.sageptx.kernel.KernelDef;
import io.sageptx.kernel.Launch;
import io.sageptx.kernels.AttentionFamilies;
import io.sageptx.kernels.attention.ScratchLayout;
import io.sageptx.kernels.preprocess.PreprocessEmitter;
import io.sageptx.runtime.AttentionLaunches;
import io.sageptx.spec.SpecCodec;

/**
 * Runs the launches {@link AttentionLaunches} plans for a call (the ones the runner queues on a GPU, with the same
 * arguments and geometry) on the {@link PtxEmulator}, each module's PTX emitted and parsed once.
 */
public final class EmulatedLaunches {

    private EmulatedLaunches() {
    }

    /** Runs, in order, the launches whose role {@code which} accepts. */
    public static void run(PtxEmulator.Memory mem, List<AttentionLaunches.Launch> launches,
                           Predicate<AttentionLaunches.Role> which) {
        Map<String, Map<String, PtxEmulator.Kernel>> modules = new HashMap<>();
        for (AttentionLaunches.Launch launch : launches) {
            if (!which.test(launch.role())) continue;
            KernelDef<ScratchLayout> def = AttentionLaunches.def(launch.role(), launch.spec());
            boolean attention = launch.role() == AttentionLaunches.Role.ATTENTION || launch.role() == AttentionLaunches.Role.PARTNER;
            Map<String, PtxEmulator.Kernel> module = modules.computeIfAbsent((attention ? "attention " : "preprocess ")
                    + SpecCodec.encode(launch.spec()), k -> PtxEmulator.parse(attention
                    ? AttentionFamilies.of(launch.spec()).emit(launch.spec()) : PreprocessEmitter.emit(launch.spec())));
            Launch g = def.geometry().apply(launch.layout());
            PtxEmulator.launch(module.get(def.name()), g.gridX(), g.gridY(), g.gridZ(), g.threads(), g.sharedBytes(), mem,
                    new HashMap<>(launch.args().bound()));
        }
    }
}

package io.sageptx.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.sageptx.call.CausalMode;
import io.sageptx.call.TensorLayout;
import io.sageptx.spec.DType;

/** {@code sageptx verify --q/--k/--v} without a GPU: every option and file error, one line, before any device work. */
class CliVerifyFilesTest {

    @TempDir
    Path tmp;

    Path raw(String name, int values) throws Exception {
        Path p = tmp.resolve(name);
        Files.write(p, new byte[2 * values]);
        return p;
    }

    Path npy(String name, String descr, String shape, int values) throws Exception {
        Path p = tmp.resolve(name);
        Files.write(p, io.sageptx.api.TensorFileTest.npy(1, descr, shape, false, new byte[2 * values]));
        return p;
    }

    record Bad(String expectedStart, String... args) {
    }

    @Test
    void errorsComeBeforeAnyDeviceWorkAndNameTheFileOrOption() throws Exception {
        Path q = raw("q.bin", 4 * 100 * 64);
        Path k = raw("k.bin", 2 * 120 * 64);
        Path kShort = raw("kshort.bin", 2 * 119 * 64);
        Path qn = npy("q.npy", "<f2", "1, 4, 100, 64", 4 * 100 * 64);
        Path kn = npy("k.npy", "<f2", "1, 2, 120, 64", 2 * 120 * 64);
        Path ki = npy("ki.npy", "<i2", "1, 2, 120, 64", 2 * 120 * 64);
        String[] shape = {"--heads", "4", "--kv-heads", "2", "--seq-q", "100", "--seq-k", "120", "--head-dim", "64", "--dtype", "fp16"};
        List<Bad> cases = List.of(
                new Bad("sageptx verify: " + kShort + ": 30464 bytes, expected 30720 (K [B=1, Hkv=2, Lk=120, D=64] bhld",
                        cat(new String[] {"verify", "--q", q.toString(), "--k", kShort.toString(), "--v", k.toString()}, shape)),
                new Bad("sageptx verify: " + k + ": 30720 bytes, expected 61440 (K [B=1, Hkv=4, Lk=120, D=64]", "verify", "--q",
                        q.toString(), "--k", k.toString(), "--v", k.toString(), "--heads", "4", "--seq-q", "100", "--seq-k", "120",
                        "--head-dim", "64", "--dtype", "fp16"),
                new Bad("sageptx verify: " + q + ": 51200 bytes, expected 102400 (Q [B=1, Lq=100, H=8, D=64] blhd", "verify",
                        "--q", q.toString(), "--k", k.toString(), "--v", k.toString(), "--heads", "8", "--kv-heads", "2",
                        "--seq-q", "100", "--seq-k", "120", "--head-dim", "64", "--dtype", "bf16", "--layout", "bshd"),
                new Bad("sageptx verify: --head-dim: give the head dim (raw files carry no shape)", "verify", "--q", q.toString(),
                        "--k", k.toString(), "--v", k.toString(), "--heads", "4", "--seq-q", "100", "--dtype", "fp16"),
                new Bad("sageptx verify: --dtype: give fp16 or bf16 (" + q + " does not say: a raw file)", "verify", "--q",
                        q.toString(), "--k", k.toString(), "--v", k.toString(), "--heads", "4", "--kv-heads", "2", "--seq-q", "100",
                        "--seq-k", "120", "--head-dim", "64"),
                new Bad("sageptx verify: --dtype: give fp16 or bf16 (" + ki + " does not say: its dtype is a 16-bit integer)",
                        "verify", "--q", qn.toString(), "--k", ki.toString(), "--v", kn.toString()),
                new Bad("sageptx verify: --dtype bf16 does not match " + qn + ": it is fp16", "verify", "--q", qn.toString(),
                        "--k", ki.toString(), "--v", kn.toString(), "--dtype", "bf16"),
                new Bad("sageptx verify: --heads 8 does not match " + qn + ": its shape (1, 4, 100, 64) has H = 4", "verify",
                        "--q", qn.toString(), "--k", kn.toString(), "--v", kn.toString(), "--heads", "8"),
                new Bad("sageptx verify: --modes fast is not allowed; allowed: all, default, pv-fp8-f16acc", "verify", "--q",
                        qn.toString(), "--k", kn.toString(), "--v", kn.toString(), "--modes", "default,fast"),
                new Bad("sageptx verify: --q, --k and --v go together: missing --v", "verify", "--q", qn.toString(), "--k", kn.toString()),
                new Bad("sageptx verify: --seq is for the random inputs, not for --q/--k/--v", "verify", "--q", qn.toString(),
                        "--k", kn.toString(), "--v", kn.toString(), "--seq", "100"),
                new Bad("sageptx verify: --modes is for your own tensors: give --q, --k and --v too", "verify", "--modes", "auto"),
                new Bad("sageptx verify: --layout bsdh is not allowed; allowed: bhld", "verify", "--q", qn.toString(), "--k",
                        kn.toString(), "--v", kn.toString(), "--layout", "bsdh"),
                new Bad("sageptx verify: --causal both is not allowed with --q", "verify", "--q", qn.toString(), "--k",
                        kn.toString(), "--v", kn.toString(), "--causal", "both"),
                new Bad("sageptx verify: --causal true with Lq = 100 != Lk = 120 is ambiguous: give --causal top-left", "verify",
                        "--q", qn.toString(), "--k", kn.toString(), "--v", kn.toString(), "--causal"),
                new Bad("sageptx verify: --ref-rows some is not allowed; allowed: auto, all, or a count >= 1", "verify", "--q",
                        qn.toString(), "--k", kn.toString(), "--v", kn.toString(), "--ref-rows", "some"),
                new Bad("sageptx verify: " + tmp.resolve("none.bin") + ": no such file", "verify", "--q",
                        tmp.resolve("none.bin").toString(), "--k", kn.toString(), "--v", kn.toString()));
        for (Bad b : cases) {
            CliTest.Run r = CliTest.run(b.args());
            String what = String.join(" ", b.args());
            assertEquals(1, r.code(), what + ": " + r.err());
            assertTrue(r.err().startsWith(b.expectedStart()), what + ":\n  want " + b.expectedStart() + "\n  got  " + r.err());
            assertEquals(1, r.err().strip().lines().count(), what + ": one line: " + r.err());
            assertFalse(r.err().contains("\tat "), what + ": no stack trace");
        }
    }

    static String[] cat(String[] a, String[] b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @Test
    void npyShapesFillTheOptionsInEitherLayout() throws Exception {
        Path qn = npy("q.npy", "<f2", "2, 100, 4, 64", 2 * 4 * 100 * 64);
        Path kn = npy("k.npy", "<i2", "2, 120, 2, 64", 2 * 2 * 120 * 64);
        VerifyFiles.Prepared p = VerifyFiles.prepare(new VerifyFiles.Given(qn, kn, kn, null, null, null, null, null, null, "fp16",
                "blhd", "bottom-right", List.of("auto", "qk-fp16"), 0.1, "all", 3));
        assertEquals(2, p.shape().batch());
        assertEquals(4, p.shape().heads());
        assertEquals(2, p.shape().kvHeads());
        assertEquals(100, p.shape().lq());
        assertEquals(120, p.shape().lk());
        assertEquals(64, p.shape().headDim());
        assertEquals(DType.FP16, p.shape().inType());
        assertEquals(TensorLayout.BLHD, p.shape().layout());
        assertEquals(CausalMode.BOTTOM_RIGHT, p.shape().causalMode());
        assertEquals(0.1f, p.shape().smScale());
        assertEquals(List.of("auto", "qk-fp16"), p.modes().stream().map(m -> m.id()).toList());
        assertEquals(0, p.maxRowsPerHead());
        assertEquals(null, p.rowsNote());
    }

    @Test
    void helpDescribesTheFileMode() {
        CliTest.Run r = CliTest.run("verify", "--help");
        assertEquals(0, r.code());
        for (String s : new String[] {"--q", "--kv-heads", "--seq-q", "--layout", "--modes", "--sm-scale", "--json", "--ref-rows",
                "docs/verify-files.md"}) {
            assertTrue(r.out().contains(s), s + ":\n" + r.out());
        }
    }
}

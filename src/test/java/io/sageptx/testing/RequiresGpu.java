package io.sageptx.testing;

import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * JUnit 5 condition: disables the annotated test class or method, with the reason
 * {@code "no CUDA GPU: <reason>"}, when no CUDA device is usable. Use as
 * {@code @ExtendWith(RequiresGpu.class)}, or through {@link GpuTest}, which also tags the test "gpu".
 */
public final class RequiresGpu implements ExecutionCondition {

    @Override
    public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
        if (Gpu.available()) {
            return ConditionEvaluationResult.enabled("CUDA GPU available");
        }
        return ConditionEvaluationResult.disabled("no CUDA GPU: " + Gpu.unavailableReason());
    }
}

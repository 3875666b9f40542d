package io.sageptx.testing;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Inherited;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Marks a test class or method as needing a CUDA GPU: tags it {@code "gpu"} (Surefire excludes that
 * tag on machines without one; on the GPU machine run {@code .gpu/test --include-tag gpu}) and skips
 * it with "no CUDA GPU: ..." through {@link RequiresGpu} when no device is usable. It is only a marker:
 * methods still need {@code @Test}.
 *
 * <pre>{@code
 * @GpuTest
 * class MyKernelTest {
 *     @Test
 *     void runsOnTheGpu() { ... }
 * }
 * }</pre>
 */
@Target({ElementType.TYPE, ElementType.METHOD})
@Retention(RetentionPolicy.RUNTIME)
@Documented
@Inherited
@Tag("gpu")
@ExtendWith(RequiresGpu.class)
public @interface GpuTest {
}

package io.sageptx.cli;

import java.util.concurrent.Callable;

import io.sageptx.cuda.Cuda;
import io.sageptx.cuda.DeviceContext;
import io.sageptx.spec.Arch;
import picocli.CommandLine.Command;

@Command(name = "info", mixinStandardHelpOptions = true, description = "List the CUDA devices and what SagePTX would run on them.")
final class InfoCommand implements Callable<Integer> {
    @Override
    public Integer call() {
        if (!Cuda.available()) {
            System.out.println("no CUDA device: " + Cuda.unavailableReason());
            return 0;
        }
        System.out.println("driver: CUDA " + Cuda.formatVersion(Cuda.driverVersion()));
        for (int i = 0; i < Cuda.deviceCount(); i++) {
            DeviceContext ctx = DeviceContext.of(i);
            Arch a = Arch.forDevice(ctx.computeCapabilityMajor(), ctx.computeCapabilityMinor());
            System.out.println(ctx + "; generator target " + a.target() + ", default PV " + a.defaultPv().id());
        }
        return 0;
    }
}

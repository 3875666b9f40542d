// Micro-benchmark (issue 14): does the shared-memory destination layout of 16-byte cp.async copies change the
// L2 traffic of a streaming read? Each warp streams 16-row x 256-byte tiles (K and V of a D=128 fp16 decode
// tile: lanes 0-15 one row, 16-31 the next) through its own 3-slot ring, as the decode kernel does, with the
// smem row pitch and layout of the variant: 0 = pitch 272 (padded, the decode kernel's), 1 = pitch 256
// unswizzled, 2 = pitch 256 with the 16-byte chunk XOR-swizzled by row & 7, 3 = pitch 384.
// Build: nvcc -O3 -arch=sm_90 cpasync_pitch.cu -o cpasync_pitch; run under ncu for the sector counts.
#include <cstdio>
#include <cstdint>
#include <cuda_runtime.h>

__device__ __forceinline__ void cp16(uint32_t dst, const void* src) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, 16;\n" :: "r"(dst), "l"(src));
}

template <int VARIANT>
__global__ void __launch_bounds__(128) stream(const uint8_t* __restrict__ k, const uint8_t* __restrict__ v,
                                              long tilesPerCta, unsigned* sink) {
    extern __shared__ __align__(128) uint8_t smem[];
    constexpr int pitch = VARIANT == 0 ? 272 : VARIANT == 3 ? 384 : 256;
    constexpr int tileBytes = 16 * pitch;
    constexpr int slot = 2 * tileBytes;
    constexpr int stages = 3;
    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    uint32_t ring = (uint32_t) __cvta_generic_to_shared(smem) + warp * stages * slot;
    const uint8_t* kb = k + (long) blockIdx.x * tilesPerCta * 4096;
    const uint8_t* vb = v + (long) blockIdx.x * tilesPerCta * 4096;
    int col = lane & 15, row0 = lane >> 4;
    long nt = tilesPerCta / 4;
    unsigned acc = 0;
    auto issue = [&](long it, int s) {
        long t = it * 4 + warp;
        for (int p = 0; p < 8; p++) {
            int r = row0 + 2 * p;
            int c = VARIANT == 2 ? (col ^ (r & 7)) : col;
            uint32_t d = ring + s * slot + r * pitch + c * 16;
            long g = t * 4096 + r * 256 + col * 16;
            cp16(d, kb + g);
            cp16(d + tileBytes, vb + g);
        }
    };
    for (int s = 0; s < stages - 1; s++) { if (s < nt) issue(s, s); asm volatile("cp.async.commit_group;\n"); }
    for (long it = 0; it < nt; it++) {
        __syncwarp();
        if (it + stages - 1 < nt) issue(it + stages - 1, (it + stages - 1) % stages);
        asm volatile("cp.async.commit_group;\n");
        asm volatile("cp.async.wait_group 2;\n");
        __syncwarp();
        uint32_t a = ring + (it % stages) * slot + lane * 4;
        unsigned x;
        asm volatile("ld.shared.u32 %0, [%1];\n" : "=r"(x) : "r"(a));
        acc += x;
    }
    if (acc == 0x12345678u) sink[0] = acc;
}

template <int V>
float run(const uint8_t* k, const uint8_t* v, long tiles, int ctas, unsigned* sink) {
    int pitch = V == 0 ? 272 : V == 3 ? 384 : 256;
    int smem = 4 * 3 * 2 * 16 * pitch;
    cudaFuncSetAttribute(stream<V>, cudaFuncAttributeMaxDynamicSharedMemorySize, smem);
    cudaEvent_t a, b;
    cudaEventCreate(&a); cudaEventCreate(&b);
    stream<V><<<ctas, 128, smem>>>(k, v, tiles, sink);
    cudaEventRecord(a);
    for (int i = 0; i < 5; i++) stream<V><<<ctas, 128, smem>>>(k, v, tiles, sink);
    cudaEventRecord(b);
    cudaEventSynchronize(b);
    float ms; cudaEventElapsedTime(&ms, a, b);
    cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess) { printf("error %s\n", cudaGetErrorString(e)); return 0; }
    return ms / 5;
}

int main() {
    const int ctas = 512;
    const long tiles = 2048;  // per CTA: 2048 x 4 KB of K and of V = a 32k-key kv head at D=128 fp16
    size_t bytes = (size_t) ctas * tiles * 4096;
    uint8_t *k, *v; unsigned* sink;
    cudaMalloc(&k, bytes); cudaMalloc(&v, bytes); cudaMalloc(&sink, 4);
    cudaMemset(k, 1, bytes); cudaMemset(v, 2, bytes);
    const char* names[] = {"pitch 272 (padded)", "pitch 256 plain", "pitch 256 xor-swizzled", "pitch 384"};
    for (int rep = 0; rep < 2; rep++) {
        float t[4] = {run<0>(k, v, tiles, ctas, sink), run<1>(k, v, tiles, ctas, sink), run<2>(k, v, tiles, ctas, sink),
                      run<3>(k, v, tiles, ctas, sink)};
        for (int i = 0; i < 4; i++) printf("%-24s %.3f ms  %.2f TB/s\n", names[i], t[i], 2.0 * bytes / (t[i] * 1e-3) / 1e12);
    }
    return 0;
}

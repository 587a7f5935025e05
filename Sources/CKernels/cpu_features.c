#include "ckernels.h"

// __builtin_cpu_supports reads CPUID once (and, for AVX and AVX-512, whether the OS saves their
// registers), so these are cheap after the first call.
#if defined(__x86_64__) || defined(__i386__)
int unet_cpu_has_avx2_fma(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
int unet_cpu_has_avx512f(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && unet_cpu_has_avx2_fma();
}
int unet_cpu_has_avx512_bf16(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512bf16") && unet_cpu_has_avx512f();
}
#else
int unet_cpu_has_avx2_fma(void) { return 0; }
int unet_cpu_has_avx512f(void) { return 0; }
int unet_cpu_has_avx512_bf16(void) { return 0; }
#endif

#pragma once
// Keeps OpenBLAS's own thread pool in step with LibTorch's intra-op threads. OpenBLAS (when
// our binaries load it, see CMakeLists.txt) starts one thread per core by default; when
// the application limits LibTorch to fewer cores (the GUI leaves one for the interface, a
// SLURM job sets OMP_NUM_THREADS) BLAS must follow. No effect with another BLAS.
namespace mqb {

// Sets the OpenBLAS thread count when OpenBLAS is loaded; returns whether it was.
bool setBlasThreads(int threads);
// The OpenBLAS thread count, 0 when OpenBLAS is not loaded.
int blasThreads();

}  // namespace mqb

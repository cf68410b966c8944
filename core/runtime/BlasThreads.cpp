#include "runtime/BlasThreads.h"

#include <dlfcn.h>

#include <algorithm>

namespace mqb {

bool setBlasThreads(int threads) {
  using SetThreads = void (*)(int);
  // Looked up at run time: the binaries do not link OpenBLAS, LibTorch's libblas.so.3 is it
  // or not depending on the RPATH and the system alternative.
  auto fn = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  if (!fn) return false;
  fn(std::max(1, threads));
  return true;
}

int blasThreads() {
  using GetThreads = int (*)();
  auto fn = reinterpret_cast<GetThreads>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  return fn ? fn() : 0;
}

}  // namespace mqb

#include <cmath>
#include <iostream>
#include <stdexcept>

#include "CommandLine.h"
#include "support/Error.h"
#include "Commands.h"
#include "support/AtomicFile.h"
#include "demo/Phantom.h"
#include "Preflight.h"
#include "io/VolumeIO.h"

namespace mqb::cli {

int runPhantom(int argc, char** argv) {
  CommandLine cl("phantom", "Write a synthetic abdominal CT phantom (HU) and its BTCV label map, for\n"
                            "demos and tests without patient data.");
  cl.option("out", "ct.nii.gz", "CT volume to write", true);
  cl.option("labels", "seg.nii.gz", "label map to write", true);
  cl.option("seed", "N", "random seed (shapes, positions, noise)", false, "1");
  cl.option("size", "X,Y,Z", "grid size in voxels", false, "128,112,96");
  cl.option("spacing", "MM", "isotropic voxel spacing in mm", false, "3");
  cl.option("noise", "HU", "noise standard deviation in HU", false, "12");
  if (!cl.parse(argc, argv)) return 0;
  Preflight().output(cl.get("out"), true).output(cl.get("labels"), true).check();
  PhantomOptions o;
  o.seed = static_cast<uint32_t>(cl.getInt("seed"));
  auto size = cl.getList("size");
  if (size.size() != 3) throw Error("phantom: --size expects X,Y,Z");
  for (int i = 0; i < 3; ++i) {
    try {
      size_t used = 0;
      o.size[i] = std::stoll(size[i], &used);
      if (used != size[i].size()) throw std::invalid_argument(size[i]);
    } catch (...) {
      throw Error("phantom: --size expects three integers, got '" + cl.get("size") + "'");
    }
    if (o.size[i] < 8 || o.size[i] > 1024)
      throw Error("phantom: --size entries must be in 8..1024, got '" + cl.get("size") + "'");
  }
  if (cl.getInt("seed") < 0) throw Error("phantom: --seed must be >= 0, got " + cl.get("seed"));
  const double spacing = cl.getDouble("spacing");
  // Beyond these the image geometry degenerates (ITK rejects tiny spacings with a bare
  // message; huge ones overflow the origin to infinity): no CT is sampled that way.
  if (!(spacing >= 1e-3 && spacing <= 1e3))
    throw Error("phantom: --spacing must be between 0.001 and 1000 mm (got " + cl.get("spacing") + ")");
  o.spacing = {spacing, spacing, spacing};
  o.noiseSigmaHu = cl.getDouble("noise");
  if (!(o.noiseSigmaHu >= 0) || !std::isfinite(o.noiseSigmaHu)) throw Error("phantom: --noise must be a number >= 0");
  Phantom p = generateAbdominalPhantom(o);
  OutputTransaction output;
  writeImage(p.ct, cl.get("out"), output);
  writeLabelMap(p.labels, cl.get("labels"), output);
  output.commit();
  std::cout << "wrote " << cl.get("out") << " and " << cl.get("labels") << " (" << p.ct.geometry.describe()
            << ", seed " << o.seed << ")\n";
  return 0;
}

}  // namespace mqb::cli

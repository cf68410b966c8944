#include <iostream>

#include "CommandLine.h"
#include "Error.h"
#include "Commands.h"
#include "Phantom.h"
#include "VolumeIO.h"

namespace mqb::cli {

int runPhantom(int argc, char** argv) {
  CommandLine cl("phantom",
                 "Write a synthetic abdominal CT phantom (HU) and its BTCV label map, for\n"
                 "demos and tests without patient data.");
  cl.option("out", "ct.nii.gz", "CT volume to write", true);
  cl.option("labels", "seg.nii.gz", "label map to write", true);
  cl.option("seed", "N", "random seed (shapes, positions, noise)", false, "1");
  cl.option("size", "X,Y,Z", "grid size in voxels", false, "128,112,96");
  cl.option("spacing", "MM", "isotropic voxel spacing in mm", false, "3");
  cl.option("noise", "HU", "noise standard deviation in HU", false, "12");
  if (!cl.parse(argc, argv)) return 0;
  PhantomOptions o;
  o.seed = static_cast<uint32_t>(cl.getInt("seed"));
  auto size = cl.getList("size");
  if (size.size() != 3) throw Error("phantom: --size expects X,Y,Z");
  for (int i = 0; i < 3; ++i) {
    try {
      o.size[i] = std::stoll(size[i]);
    } catch (...) {
      throw Error("phantom: --size expects three integers, got '" + cl.get("size") + "'");
    }
  }
  const double spacing = cl.getDouble("spacing");
  o.spacing = {spacing, spacing, spacing};
  o.noiseSigmaHu = cl.getDouble("noise");
  Phantom p = generateAbdominalPhantom(o);
  writeImage(p.ct, cl.get("out"));
  writeLabelMap(p.labels, cl.get("labels"));
  std::cout << "wrote " << cl.get("out") << " and " << cl.get("labels") << " (" << p.ct.geometry.describe()
            << ", seed " << o.seed << ")\n";
  return 0;
}

}  // namespace mqb::cli

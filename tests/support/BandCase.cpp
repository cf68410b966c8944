#include "BandCase.h"

#include "demo/Phantom.h"
#include "TestModels.h"
#include "TestSupport.h"
#include "io/VolumeIO.h"

namespace mqb::test {

BandCase makeBandCase() {
  BandCase c;
  c.dir = tempDir();
  c.model = c.dir + "/band.pt";
  writeBandModel(c.model, bandModelMetadata(16, 3.0));
  PhantomOptions o;
  o.size = {48, 40, 24};
  o.noiseSigmaHu = 0;
  Phantom p = generateAbdominalPhantom(o);
  LabelVolume truth = p.labels;
  for (size_t i = 0; i < p.ct.voxels.size(); ++i) {
    const uint8_t l = p.labels.voxels[i];
    const bool vessel = l == 8 || l == 9;
    p.ct.voxels[i] = l == 0 ? kBandBackgroundHu : vessel ? kBandHighHu : kBandLowHu;
    truth.voxels[i] = l == 0 ? 0 : vessel ? 2 : 1;
  }
  c.ct = c.dir + "/ct.nii.gz";
  c.truth = c.dir + "/truth.nii.gz";
  writeImage(p.ct, c.ct);
  writeLabelMap(truth, c.truth);
  return c;
}

}  // namespace mqb::test

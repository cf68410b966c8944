#pragma once
// Ground truth whose ids the model's class list does not know: the usual sign of a missing
// label map (TotalSegmentator ids 52, 63, 64 read as BTCV ids), which otherwise only shows
// as Dice 0 on organs that are plainly there.
#include <string>
#include <vector>

#include "io/ClassInfo.h"
#include "io/Volume.h"

namespace mqb {

// Ids > 0 present in `labels` that no class in `classes` has, ascending.
std::vector<int> idsWithoutClass(const LabelVolume& labels, const ClassList& classes);

// Empty when every id has a class; else one sentence naming `source`, the ids (at most 8
// listed) and the likely fix.
std::string describeIdsWithoutClass(const LabelVolume& labels, const ClassList& classes, const std::string& source);

}  // namespace mqb

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

#include "support/Error.h"
#include "support/JsonField.h"

using namespace mqb;

namespace {
template <typename T>
std::string refusal(const nlohmann::json& value) {
  try {
    const T v = jsonAs<T>(value, "m.json", "patch_size[0]");
    ADD_FAILURE() << value.dump() << " was accepted as " << v;
  } catch (const Error& e) {
    return e.what();
  }
  return {};
}
}  // namespace

// 2^63 written as a float (9223372036854775808.0) equals int64_t's max() once that is rounded
// to a double; it used to pass the range check and its conversion was undefined (UBSan's
// float-cast-overflow; on x86 it came out as INT64_MIN and then failed a later check with a
// misleading message).
TEST(JsonField, FloatJustPastInt64RangeIsRefusedAsOutOfRange) {
  const std::string msg = refusal<int64_t>(nlohmann::json(9223372036854775808.0));
  EXPECT_NE(msg.find("m.json"), std::string::npos) << msg;
  EXPECT_NE(msg.find("patch_size[0]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("must be an integer"), std::string::npos) << msg;
}

TEST(JsonField, WholeFloatsAtTheLimitsOfEachIntegerTypeConvertExactly) {
  EXPECT_EQ(jsonAs<int64_t>(nlohmann::json(9223372036854774784.0), "m.json", "f"), 9223372036854774784LL);
  EXPECT_EQ(jsonAs<int64_t>(nlohmann::json(-9223372036854775808.0), "m.json", "f"),
            std::numeric_limits<int64_t>::min());
  EXPECT_EQ(jsonAs<int>(nlohmann::json(2147483647.0), "m.json", "f"), 2147483647);
  EXPECT_EQ(jsonAs<int>(nlohmann::json(-2147483648.0), "m.json", "f"), std::numeric_limits<int>::min());
  EXPECT_EQ(jsonAs<unsigned>(nlohmann::json(4294967295.0), "m.json", "f"), 4294967295u);
}

TEST(JsonField, WholeFloatsPastTheLimitsOfEachIntegerTypeAreRefused) {
  EXPECT_FALSE(refusal<int64_t>(nlohmann::json(-9223372036854777856.0)).empty());
  EXPECT_FALSE(refusal<int>(nlohmann::json(2147483648.0)).empty());
  EXPECT_FALSE(refusal<int>(nlohmann::json(-2147483649.0)).empty());
  EXPECT_FALSE(refusal<unsigned>(nlohmann::json(4294967296.0)).empty());
  EXPECT_FALSE(refusal<unsigned>(nlohmann::json(-1.0)).empty());
}

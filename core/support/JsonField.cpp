#include "support/JsonField.h"

#include <cmath>
#include <cstdint>
#include <limits>

#include "support/Error.h"

namespace mqb {
namespace {

std::string article(const std::string& typeName) {
  return (typeName == "array" || typeName == "object") ? "an " + typeName : "a " + typeName;
}

[[noreturn]] void wrongType(const nlohmann::json& node, const std::string& source, const std::string& field,
                            const std::string& expected) {
  throw Error(source + ": field \"" + field + "\" must be " + expected + ", but is " +
              (node.is_null() ? std::string("null") : article(node.type_name())) +
              (node.is_primitive() && !node.is_null() ? " (" + node.dump() + ")" : std::string()));
}

template <typename TInt>
TInt integerOf(const nlohmann::json& node, const std::string& source, const std::string& field) {
  // A JSON 2.5 converts silently to 2 and 1e12 wraps; both are refused here.
  if (node.is_number_integer()) {
    if (node.is_number_unsigned()) {
      const auto u = node.get<uint64_t>();
      if (u <= static_cast<uint64_t>(std::numeric_limits<TInt>::max())) return static_cast<TInt>(u);
    } else {
      const auto i = node.get<int64_t>();
      if (i >= static_cast<int64_t>(std::numeric_limits<TInt>::min()) &&
          (i < 0 || static_cast<uint64_t>(i) <= static_cast<uint64_t>(std::numeric_limits<TInt>::max())))
        return static_cast<TInt>(i);
    }
    throw Error(source + ": field \"" + field + "\" is " + node.dump() + ", out of range for " + jsonExpected<TInt>());
  }
  if (node.is_number_float()) {
    const double d = node.get<double>();
    // The bound is 2^digits, exact in a double: max() rounds up to it for 64-bit types, and
    // converting 2^63 to int64_t is undefined.
    if (std::isfinite(d) && d == std::floor(d) && d >= static_cast<double>(std::numeric_limits<TInt>::min()) &&
        d < std::ldexp(1.0, std::numeric_limits<TInt>::digits))
      return static_cast<TInt>(d);
  }
  wrongType(node, source, field, jsonExpected<TInt>());
}

}  // namespace

template <>
std::string jsonExpected<int>() {
  return "an integer";
}
template <>
std::string jsonExpected<unsigned>() {
  return "a non-negative integer";
}
template <>
std::string jsonExpected<int64_t>() {
  return "an integer";
}
template <>
std::string jsonExpected<double>() {
  return "a number";
}
template <>
std::string jsonExpected<float>() {
  return "a number";
}
template <>
std::string jsonExpected<bool>() {
  return "true or false";
}
template <>
std::string jsonExpected<std::string>() {
  return "a string";
}

template <>
int jsonAs<int>(const nlohmann::json& n, const std::string& s, const std::string& f) {
  return integerOf<int>(n, s, f);
}
template <>
unsigned jsonAs<unsigned>(const nlohmann::json& n, const std::string& s, const std::string& f) {
  return integerOf<unsigned>(n, s, f);
}
template <>
int64_t jsonAs<int64_t>(const nlohmann::json& n, const std::string& s, const std::string& f) {
  return integerOf<int64_t>(n, s, f);
}
template <>
double jsonAs<double>(const nlohmann::json& n, const std::string& s, const std::string& f) {
  if (!n.is_number()) wrongType(n, s, f, jsonExpected<double>());
  return n.get<double>();
}
template <>
float jsonAs<float>(const nlohmann::json& n, const std::string& s, const std::string& f) {
  if (!n.is_number()) wrongType(n, s, f, jsonExpected<float>());
  return n.get<float>();
}
template <>
bool jsonAs<bool>(const nlohmann::json& n, const std::string& s, const std::string& f) {
  if (!n.is_boolean()) wrongType(n, s, f, jsonExpected<bool>());
  return n.get<bool>();
}
template <>
std::string jsonAs<std::string>(const nlohmann::json& n, const std::string& s, const std::string& f) {
  if (!n.is_string()) wrongType(n, s, f, jsonExpected<std::string>());
  return n.get<std::string>();
}

std::string jsonFieldPath(const std::string& prefix, const std::string& key) {
  return prefix.empty() ? key : prefix + "." + key;
}

template <typename T>
T jsonValue(const nlohmann::json& obj, const std::string& key, const T& fallback, const std::string& source,
            const std::string& fieldPrefix) {
  if (!obj.is_object() || !obj.contains(key)) return fallback;
  return jsonAs<T>(obj[key], source, jsonFieldPath(fieldPrefix, key));
}

template <typename T>
T jsonRequire(const nlohmann::json& obj, const std::string& key, const std::string& source,
              const std::string& fieldPrefix) {
  const std::string field = jsonFieldPath(fieldPrefix, key);
  if (!obj.is_object())
    throw Error(source + ": \"" + (fieldPrefix.empty() ? "(top level)" : fieldPrefix) +
                "\" must be an object holding \"" + key + "\"");
  if (!obj.contains(key)) throw Error(source + ": field \"" + field + "\" is missing");
  return jsonAs<T>(obj[key], source, field);
}

#define MQB_JSON_FIELD_TYPE(T)                                                                     \
  template T jsonValue<T>(const nlohmann::json&, const std::string&, const T&, const std::string&, \
                          const std::string&);                                                     \
  template T jsonRequire<T>(const nlohmann::json&, const std::string&, const std::string&, const std::string&);
MQB_JSON_FIELD_TYPE(int)
MQB_JSON_FIELD_TYPE(unsigned)
MQB_JSON_FIELD_TYPE(int64_t)
MQB_JSON_FIELD_TYPE(double)
MQB_JSON_FIELD_TYPE(float)
MQB_JSON_FIELD_TYPE(bool)
MQB_JSON_FIELD_TYPE(std::string)
#undef MQB_JSON_FIELD_TYPE

}  // namespace mqb

#include <fstream>

#include "support/FileChecks.h"

namespace mqb {

std::string jsonReason(const std::exception& e) {
  std::string what = e.what();
  if (what.rfind("[json.exception.", 0) == 0) {
    const size_t close = what.find("] ");
    if (close != std::string::npos) what = what.substr(close + 2);
  }
  return what;
}

nlohmann::json readJsonFile(const std::string& path, const std::string& what) {
  checkInputPath(path, false, what);
  std::ifstream in(path);
  if (!in) throw Error(path + ": cannot open the " + what);
  try {
    return nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    throw Error(path + ": invalid JSON in the " + what + ": " + jsonReason(e));
  }
}

}  // namespace mqb

#pragma once
// Typed reads of JSON fields whose errors name the file and the field
// (`cal.json: field "ops[2].inputs[0].slot" must be an integer, but is a string`), instead of
// the JSON library's bare "[json.exception.type_error.302] type must be number".
#include <nlohmann/json.hpp>
#include <cstdint>
#include <string>

namespace mqb {

// What a user must write for T: "an integer", "a number", "a string", "true or false", ...
template <typename T>
std::string jsonExpected();

// The node converted to T; `field` is its path in the file ("classes[1].id").
template <typename T>
T jsonAs(const nlohmann::json& node, const std::string& source, const std::string& field);

// Defined for int, unsigned, int64_t, double, float, bool and std::string.
#define MQB_JSON_FIELD_DECLARE(T) \
  template <>                     \
  std::string jsonExpected<T>();  \
  template <>                     \
  T jsonAs<T>(const nlohmann::json&, const std::string&, const std::string&);
MQB_JSON_FIELD_DECLARE(int)
MQB_JSON_FIELD_DECLARE(unsigned)
MQB_JSON_FIELD_DECLARE(int64_t)
MQB_JSON_FIELD_DECLARE(double)
MQB_JSON_FIELD_DECLARE(float)
MQB_JSON_FIELD_DECLARE(bool)
MQB_JSON_FIELD_DECLARE(std::string)
#undef MQB_JSON_FIELD_DECLARE

// obj[key] converted to T, or `fallback` when obj has no such key.
template <typename T>
T jsonValue(const nlohmann::json& obj, const std::string& key, const T& fallback, const std::string& source,
            const std::string& fieldPrefix = "");

// obj[key] converted to T; a missing key is an error naming the field.
template <typename T>
T jsonRequire(const nlohmann::json& obj, const std::string& key, const std::string& source,
              const std::string& fieldPrefix = "");

// "prefix.key" or "key".
std::string jsonFieldPath(const std::string& prefix, const std::string& key);

}  // namespace mqb

namespace mqb {
// Parses a JSON file; errors name the file and say where the syntax breaks, without the
// library's "[json.exception...]" prefix. `what` names the role ("calibration file").
nlohmann::json readJsonFile(const std::string& path, const std::string& what);
// The JSON library's message without its "[json.exception.xxx.nnn] " prefix.
std::string jsonReason(const std::exception& e);
}  // namespace mqb

#pragma once
// Golden fixture files that describe each case in their metadata, as tests/golden/gen_norm.py and
// gen_rnn.py write them: "<case>/spec" (JSON) and "<case>/keys" (the state_dict key order), with
// the case's tensors named "<case>/<tensor>".
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "ember/state_dict.h"

namespace ember::fixtures {

struct FixtureCase {
  std::string name;
  nlohmann::json spec;
  std::vector<std::string> keys;
  std::shared_ptr<const StateDict> tensors;  // the whole file the case came from
};

inline std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) out.push_back(item);
  return out;
}

// Every case of the files (names without ".safetensors") under EMBER_FIXTURES_DIR.
inline std::vector<FixtureCase> load_fixture_cases(const std::vector<std::string>& files) {
  std::vector<FixtureCase> out;
  const std::string suffix = "/spec";
  for (const std::string& file : files) {
    Metadata metadata;
    auto tensors = std::make_shared<const StateDict>(
        load(std::string(EMBER_FIXTURES_DIR) + "/" + file + ".safetensors", &metadata));
    for (const auto& [key, value] : metadata) {
      if (key.size() <= suffix.size() ||
          key.compare(key.size() - suffix.size(), suffix.size(), suffix) != 0)
        continue;
      FixtureCase c;
      c.name = key.substr(0, key.size() - suffix.size());
      c.spec = nlohmann::json::parse(value);
      c.keys = split_commas(metadata.at(c.name + "/keys"));
      c.tensors = tensors;
      out.push_back(std::move(c));
    }
  }
  return out;
}

}  // namespace ember::fixtures

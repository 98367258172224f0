// Internal to config/: the schema readers and the helpers they share.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>

#include "config/config.hpp"
#include "config/reader.hpp"

namespace sinetti::config::detail {

void read_config(MapReader& root, Config& config);
void read_routing(MapReader& r, Routing& routing);
// Checks what needs the whole configuration: names that refer to other sections, uniqueness.
void validate(Context& ctx, const Config& config);
// Opens every referenced file, looks up env: secrets.
void check_files(Context& ctx, const Config& config);

Result<IpNetwork> parse_network(std::string_view text);
// A YAML mapping/sequence/scalar tree as JSON text (plain scalars that look like numbers or booleans
// become numbers and booleans; quoted scalars stay strings).
std::string yaml_to_json(const YAML::Node& node);
// https URL, or http to a loopback host (development).
void check_url(Context& ctx, const Location& where, const std::string& field, const std::string& url);
// Reference of the routing conditions (Markdown), from the same table the parser uses.
std::string conditions_markdown();
// An undefined node: "this section is absent".
YAML::Node undefined_node();

}  // namespace sinetti::config::detail

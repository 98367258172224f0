// CONVENTIONS habit 5: GMime lives behind smtp/mime only. No source outside smtp/mime includes a
// GMime header, and the public header smtp/mime/message.hpp includes none either.
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <string>

#include "support.hpp"

namespace fs = std::filesystem;

BOOST_AUTO_TEST_SUITE(mime_boundary)

BOOST_AUTO_TEST_CASE(gmime_is_included_only_inside_smtp_mime) {
  const fs::path root = fs::path(SINETTI_TEST_DATA_DIR).parent_path().parent_path();
  const fs::path inside = root / "smtp" / "mime";
  std::size_t checked = 0;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
       ++it) {
    const fs::path& p = it->path();
    const std::string name = p.filename().string();
    if (it->is_directory() && (name == "build" || name.starts_with(".") || name == "data")) {
      it.disable_recursion_pending();
      continue;
    }
    const std::string ext = p.extension().string();
    if (ext != ".cpp" && ext != ".hpp" && ext != ".h" && ext != ".cc") continue;
    ++checked;
    const std::string source = sinetti::mime::test::read_file(p);
    // Include directives at the start of a line that name GMime's header directory.
    bool includes_gmime = false;
    for (std::size_t at = source.find("#include"); at != std::string::npos;
         at = source.find("#include", at + 1)) {
      if (at != 0 && source[at - 1] != '\n') continue;
      const std::string line = source.substr(at, source.find('\n', at) - at);
      if (line.find("gmime/") != std::string::npos) includes_gmime = true;
    }
    const bool allowed = p.parent_path() == inside && p.filename() != "message.hpp";
    BOOST_TEST(!(includes_gmime && !allowed), p.string() << " includes GMime");
  }
  BOOST_TEST(checked > 10U);
}

BOOST_AUTO_TEST_SUITE_END()

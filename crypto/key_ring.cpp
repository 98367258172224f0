// Key ring files (POSIX: O_EXCL, fsync, rename, directory fsync) and the X25519 key wrap.
#include "crypto/key_ring.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <system_error>

#include "crypto/random.hpp"
#include "sinetti/blocking.hpp"

namespace sinetti::crypto {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view wrap_info = "sinetti key wrap v1";
constexpr std::string_view public_magic = "sinetti-kek-public 1";
constexpr std::string_view private_magic = "sinetti-kek-private 1";
constexpr std::string_view active_file = "active";
constexpr std::string_view secret_suffix = ".secret";
constexpr std::size_t max_key_file_size = 4096;
constexpr std::size_t wrap_header_size = 1 + 4 + x25519_key_size;  // version, KEK id, ephemeral public
constexpr std::size_t wrap_nonce_offset = wrap_header_size;
constexpr std::size_t wrap_sealed_offset = wrap_nonce_offset + gcm_nonce_size;

void put_u32_be(std::uint8_t* p, std::uint32_t v) noexcept {
  p[0] = static_cast<std::uint8_t>(v >> 24);
  p[1] = static_cast<std::uint8_t>(v >> 16);
  p[2] = static_cast<std::uint8_t>(v >> 8);
  p[3] = static_cast<std::uint8_t>(v);
}

std::uint32_t get_u32_be(const std::uint8_t* p) noexcept {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | std::uint32_t{p[3]};
}

std::string mode_text(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

Error system_error(std::string_view what, const fs::path& path, int err) {
  return make_error(std::string(what) + " " + path.string() + ": " + std::strerror(err));
}

// ---- names -----------------------------------------------------------------------------------

std::string kek_name(KekId id, std::string_view suffix) {
  char text[32];
  std::snprintf(text, sizeof text, "kek-%06u", static_cast<unsigned>(id));
  return std::string(text) + std::string(suffix);
}

// The id in "kek-NNNNNN" + suffix, only for the canonical spelling.
std::optional<KekId> parse_kek_name(std::string_view name, std::string_view suffix) {
  if (!name.starts_with("kek-") || !name.ends_with(suffix)) return std::nullopt;
  const std::string_view digits = name.substr(4, name.size() - 4 - suffix.size());
  std::uint32_t id = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), id);
  if (ec != std::errc() || end != digits.data() + digits.size() || id == 0) return std::nullopt;
  if (kek_name(id, suffix) != name) return std::nullopt;
  return id;
}

bool valid_secret_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; });
}

// ---- permission checks and reading -----------------------------------------------------------

// What a file holds decides which mode bits are refused.
enum class Holds { secret, public_data };

Result<bool> check_mode(const fs::path& path, mode_t mode, Holds holds) {
  if (holds == Holds::secret && (mode & 077) != 0) {
    return make_error("key file " + path.string() + " is accessible to group or others (mode " + mode_text(mode) +
                      "); run chmod 600 " + path.string());
  }
  if (holds == Holds::public_data && (mode & 022) != 0) {
    return make_error("key file " + path.string() + " is writable by group or others (mode " + mode_text(mode) +
                      "); run chmod 600 " + path.string());
  }
  return true;
}

Result<bool> check_directory(const fs::path& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    if (errno == ENOENT) return make_error("no key ring at " + dir.string() + " (run `sinetti keys init`)");
    return system_error("cannot read key directory", dir, errno);
  }
  if (!S_ISDIR(st.st_mode)) return make_error("key directory " + dir.string() + " is not a directory");
  if ((st.st_mode & 022) != 0) {
    return make_error("key directory " + dir.string() + " is writable by group or others (mode " + mode_text(st.st_mode) +
                      "); run chmod 700 " + dir.string());
  }
  return true;
}

// Reads a whole key file: a regular file (never through a symlink) whose mode passes the check.
Result<SecretBytes> read_key_file(const fs::path& path, Holds holds) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return system_error("cannot open", path, errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return system_error("cannot stat", path, err);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return make_error("key file " + path.string() + " is not a regular file");
  }
  if (auto ok = check_mode(path, st.st_mode, holds); !ok) {
    ::close(fd);
    return ok.error();
  }
  if (st.st_size < 0 || static_cast<std::uint64_t>(st.st_size) > max_key_file_size) {
    ::close(fd);
    return make_error("key file " + path.string() + " is larger than " + std::to_string(max_key_file_size) + " bytes");
  }
  SecretBytes content(static_cast<std::size_t>(st.st_size));
  std::size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::read(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = n < 0 ? errno : EIO;
      ::close(fd);
      return system_error("cannot read", path, err);
    }
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  return content;
}

// Checks the mode of a file without reading it (a private half a seal-only load never opens).
Result<bool> check_file_mode(const fs::path& path, Holds holds) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return system_error("cannot stat", path, errno);
  if (!S_ISREG(st.st_mode)) return make_error("key file " + path.string() + " is not a regular file");
  return check_mode(path, st.st_mode, holds);
}

bool path_exists(const fs::path& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

// ---- writing ---------------------------------------------------------------------------------

Result<bool> sync_directory(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return system_error("cannot open directory", dir, errno);
  int rc = 0;
  {
    const Waiting waiting;  // on a pool thread, another task may run meanwhile
    rc = ::fsync(fd);
  }
  const int err = errno;
  ::close(fd);
  if (rc != 0) return system_error("cannot fsync directory", dir, err);
  return true;
}

// Writes `content` as dir/name, mode 0600: to a new temporary file (O_EXCL, never through a
// symlink), fsync, rename into place (refusing to replace an existing file unless `replace`), and
// fsync the directory so the new name is durable too.
Result<bool> write_file_atomically(const fs::path& dir, std::string_view name, ByteView content, bool replace) {
  std::array<std::uint8_t, 8> nonce{};
  random_bytes(nonce);
  const fs::path tmp = dir / ("." + std::string(name) + ".tmp-" + base64url_encode(nonce));
  const fs::path target = dir / std::string(name);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return system_error("cannot create", tmp, errno);
  int err = 0;
  if (::fchmod(fd, 0600) != 0) err = errno;  // the umask only clears bits; make the mode exact
  std::size_t done = 0;
  while (err == 0 && done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      err = errno;
      break;
    }
    done += static_cast<std::size_t>(n);
  }
  if (err == 0) {
    const Waiting waiting;
    if (::fsync(fd) != 0) err = errno;
  }
  if (::close(fd) != 0 && err == 0) err = errno;
  if (err != 0) {
    ::unlink(tmp.c_str());
    return system_error("cannot write", tmp, err);
  }
  if (replace) {
    if (::rename(tmp.c_str(), target.c_str()) != 0) err = errno;
  } else if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, target.c_str(), RENAME_NOREPLACE) != 0) {
    err = errno;
    if (err == EINVAL || err == ENOSYS) {  // a file system without RENAME_NOREPLACE: link refuses too
      err = ::link(tmp.c_str(), target.c_str()) == 0 ? 0 : errno;
      ::unlink(tmp.c_str());
    }
  }
  if (err != 0) {
    ::unlink(tmp.c_str());
    return err == EEXIST ? make_error(target.string() + " already exists; not overwriting it")
                         : system_error("cannot create", target, err);
  }
  return sync_directory(dir);
}

// Creates every missing directory of `dir` with mode 0700; refuses an existing `dir` that group or
// others can use.
Result<bool> create_key_directory(const fs::path& dir) {
  fs::path current;
  for (const auto& part : dir) {
    current /= part;
    if (::mkdir(current.c_str(), 0700) == 0) {
      if (::chmod(current.c_str(), 0700) != 0) return system_error("cannot chmod", current, errno);
      if (current.has_parent_path()) {
        if (auto synced = sync_directory(current.parent_path()); !synced) return synced.error();
      }
      continue;
    }
    const int err = errno;
    struct stat st {};
    if (err != EEXIST || ::stat(current.c_str(), &st) != 0) return system_error("cannot create directory", current, err);
    if (!S_ISDIR(st.st_mode)) return make_error(current.string() + " is not a directory");
  }
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return system_error("cannot stat", dir, errno);
  if ((st.st_mode & 077) != 0) {
    return make_error("key directory " + dir.string() + " already exists with mode " + mode_text(st.st_mode) +
                      "; run chmod 700 " + dir.string() + " first");
  }
  return true;
}

// ---- file formats ----------------------------------------------------------------------------

// Splits "magic\nkey value\n..." into lines and checks the magic and the keys, in order.
Result<std::vector<std::string_view>> parse_fields(std::string_view text, std::string_view magic,
                                                   std::initializer_list<std::string_view> keys, const fs::path& path) {
  auto bad = [&](std::string_view why) { return make_error("key file " + path.string() + ": " + std::string(why)); };
  if (!text.ends_with('\n')) return bad("does not end with a newline");
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    lines.push_back(text.substr(0, nl));
    text.remove_prefix(nl + 1);
  }
  if (lines.size() != keys.size() + 1 || lines[0] != magic) return bad("not a " + std::string(magic) + " file");
  std::vector<std::string_view> values;
  std::size_t i = 1;
  for (const auto key : keys) {
    const std::string_view line = lines[i++];
    if (!line.starts_with(key) || line.size() <= key.size() + 1 || line[key.size()] != ' ') {
      return bad("expected '" + std::string(key) + " ...' on line " + std::to_string(i));
    }
    values.push_back(line.substr(key.size() + 1));
  }
  return values;
}

template <typename T>
Result<T> parse_number(std::string_view text, const fs::path& path) {
  T value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return make_error("key file " + path.string() + ": '" + std::string(text) + "' is not a number");
  }
  return value;
}

Result<X25519Public> parse_public_key(std::string_view text, const fs::path& path) {
  auto bytes = base64url_decode(text);
  if (!bytes || bytes->size() != x25519_key_size) return make_error("key file " + path.string() + ": bad X25519 key");
  X25519Public key{};
  std::copy(bytes->begin(), bytes->end(), key.begin());
  return key;
}

std::string public_file_text(KekId id, std::int64_t created, const X25519Public& key) {
  return std::string(public_magic) + "\nid " + std::to_string(id) + "\ncreated " + std::to_string(created) +
         "\nx25519 " + base64url_encode(key) + "\n";
}

struct PublicHalf {
  KekId id = 0;
  std::int64_t created = 0;
  X25519Public key{};
};

Result<PublicHalf> read_public_half(const fs::path& dir, KekId id) {
  const fs::path path = dir / kek_name(id, ".pub");
  auto content = read_key_file(path, Holds::public_data);
  if (!content) return content.error();
  const std::string_view text(reinterpret_cast<const char*>(content->data()), content->size());
  auto fields = parse_fields(text, public_magic, {"id", "created", "x25519"}, path);
  if (!fields) return fields.error();
  auto file_id = parse_number<KekId>((*fields)[0], path);
  if (!file_id) return file_id.error();
  if (*file_id != id) return make_error("key file " + path.string() + " holds KEK " + std::to_string(*file_id));
  auto created = parse_number<std::int64_t>((*fields)[1], path);
  if (!created) return created.error();
  auto key = parse_public_key((*fields)[2], path);
  if (!key) return key.error();
  return PublicHalf{id, *created, *key};
}

Result<X25519PrivateKey> read_private_half(const fs::path& dir, KekId id, const X25519Public& expected_public) {
  const fs::path path = dir / kek_name(id, ".key");
  auto content = read_key_file(path, Holds::secret);
  if (!content) return content.error();
  const std::string_view text(reinterpret_cast<const char*>(content->data()), content->size());
  auto fields = parse_fields(text, private_magic, {"id", "x25519"}, path);
  if (!fields) return fields.error();
  auto file_id = parse_number<KekId>((*fields)[0], path);
  if (!file_id) return file_id.error();
  if (*file_id != id) return make_error("key file " + path.string() + " holds KEK " + std::to_string(*file_id));
  auto decoded = base64url_decode((*fields)[1]);
  if (!decoded || decoded->size() != x25519_key_size) {
    if (decoded) secure_wipe(*decoded);
    return make_error("key file " + path.string() + ": bad X25519 key");
  }
  auto key = X25519PrivateKey::from_bytes(*decoded);
  secure_wipe(*decoded);
  if (!key || !constant_time_equal(key->public_key(), expected_public)) {
    return make_error("key file " + path.string() + " does not match " + kek_name(id, ".pub"));
  }
  return key;
}

Result<KekId> read_active(const fs::path& dir) {
  const fs::path path = dir / std::string(active_file);
  if (!path_exists(path)) {
    return make_error("no key ring at " + dir.string() + " (no '" + std::string(active_file) + "' file; run `sinetti keys init`)");
  }
  auto content = read_key_file(path, Holds::public_data);
  if (!content) return content.error();
  std::string_view text(reinterpret_cast<const char*>(content->data()), content->size());
  if (text.ends_with('\n')) text.remove_suffix(1);
  const auto id = parse_kek_name(text, "");
  if (!id) return make_error("key file " + path.string() + ": expected a name like kek-000001");
  return *id;
}

struct DirectoryScan {
  std::vector<KekId> public_halves;   // ascending
  std::vector<KekId> private_halves;  // ascending
  std::vector<std::string> secrets;   // names, without the suffix
  bool has_active = false;
};

Result<DirectoryScan> scan(const fs::path& dir) {
  DirectoryScan found;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name == active_file) {
      found.has_active = true;
    } else if (const auto pub = parse_kek_name(name, ".pub")) {
      found.public_halves.push_back(*pub);
    } else if (const auto priv = parse_kek_name(name, ".key")) {
      found.private_halves.push_back(*priv);
    } else if (name.ends_with(secret_suffix)) {
      found.secrets.push_back(name.substr(0, name.size() - secret_suffix.size()));
    }
  }
  if (ec) return make_error("cannot list key directory " + dir.string() + ": " + ec.message());
  std::sort(found.public_halves.begin(), found.public_halves.end());
  std::sort(found.private_halves.begin(), found.private_halves.end());
  std::sort(found.secrets.begin(), found.secrets.end());
  return found;
}

// Every private file of the ring (KEK private halves, server secrets) must be private, also for
// the commands that never read them (`keys list`, `keys rotate`): a readable key is reported at once.
Result<bool> check_private_modes(const fs::path& dir, const DirectoryScan& found) {
  for (const KekId id : found.private_halves) {
    if (auto ok = check_file_mode(dir / kek_name(id, ".key"), Holds::secret); !ok) return ok.error();
  }
  for (const auto& name : found.secrets) {
    if (auto ok = check_file_mode(dir / (name + std::string(secret_suffix)), Holds::secret); !ok) return ok.error();
  }
  return true;
}

// Writes a new KEK's private half, then its public half (the public file is what makes it part
// of the ring).
Result<bool> write_kek(const fs::path& dir, KekId id, std::int64_t created) {
  const X25519KeyPair pair = x25519_generate();  // written out, so the raw scalar is wanted here
  std::string private_text = std::string(private_magic) + "\nid " + std::to_string(id) + "\nx25519 " +
                             base64url_encode(pair.private_key.view()) + "\n";
  auto written = write_file_atomically(dir, kek_name(id, ".key"), as_bytes(private_text), false);
  secure_wipe(private_text);
  if (!written) return written.error();
  const std::string public_text = public_file_text(id, created, pair.public_key);
  return write_file_atomically(dir, kek_name(id, ".pub"), as_bytes(public_text), false);
}

Result<bool> write_active(const fs::path& dir, KekId id) {
  const std::string text = kek_name(id, "") + "\n";
  return write_file_atomically(dir, active_file, as_bytes(text), true);
}

std::int64_t unix_seconds(const Clock& clock) {
  return std::chrono::duration_cast<std::chrono::seconds>(clock.now().time_since_epoch()).count();
}

// AD of a wrap: version || KEK id || ephemeral public || data key id || uint16_be(len) || message id.
struct WrapAd {
  std::array<std::uint8_t, wrap_header_size + data_key_id_size + 2 + 255> bytes{};
  std::size_t size = 0;
  WrapAd(ByteView header, const DataKeyId& key_id, std::string_view message_id) {
    std::copy(header.begin(), header.end(), bytes.begin());
    std::copy(key_id.begin(), key_id.end(), bytes.begin() + wrap_header_size);
    std::size_t at = wrap_header_size + data_key_id_size;
    bytes[at++] = static_cast<std::uint8_t>(message_id.size() >> 8);
    bytes[at++] = static_cast<std::uint8_t>(message_id.size());
    std::memcpy(bytes.data() + at, message_id.data(), message_id.size());
    size = at + message_id.size();
  }
  ByteView view() const { return {bytes.data(), size}; }
};

SecretBytes wrap_key(const SecretBytes& shared, const X25519Public& ephemeral, const X25519Public& kek) {
  std::array<std::uint8_t, 2 * x25519_key_size> salt{};
  std::copy(ephemeral.begin(), ephemeral.end(), salt.begin());
  std::copy(kek.begin(), kek.end(), salt.begin() + x25519_key_size);
  return hkdf_sha256(shared.view(), salt, as_bytes(wrap_info), aes_key_size);
}

}  // namespace

// ---- KeyRing ---------------------------------------------------------------------------------

Result<KekId> wrapped_key_kek(ByteView wrapped) {
  if (wrapped.size() != wrapped_key_size) {
    return make_error("wrapped key: " + std::to_string(wrapped_key_size) + " bytes expected, got " + std::to_string(wrapped.size()));
  }
  if (wrapped[0] != wrapped_key_version) return make_error("wrapped key: unsupported version " + std::to_string(wrapped[0]));
  return get_u32_be(wrapped.data() + 1);
}

Result<KekId> KeyRing::init(const fs::path& dir, const Clock& clock) {
  if (auto made = create_key_directory(dir); !made) return made.error();
  auto found = scan(dir);
  if (!found) return found.error();
  if (found->has_active || !found->public_halves.empty() || !found->private_halves.empty() || !found->secrets.empty()) {
    return make_error("a key ring (or part of one) already exists in " + dir.string() + "; not overwriting it");
  }
  for (const auto name : standard_server_secrets) {
    SecretBytes secret = SecretBytes::random(server_secret_size);
    if (auto written = write_file_atomically(dir, std::string(name) + std::string(secret_suffix), secret.view(), false); !written) {
      return written.error();
    }
  }
  const KekId first = 1;
  if (auto written = write_kek(dir, first, unix_seconds(clock)); !written) return written.error();
  if (auto written = write_active(dir, first); !written) return written.error();
  return first;
}

Result<KekId> KeyRing::rotate(const fs::path& dir, const Clock& clock) {
  if (auto checked = check_directory(dir); !checked) return checked.error();
  auto active = read_active(dir);
  if (!active) return active.error();
  auto found = scan(dir);
  if (!found) return found.error();
  if (auto ok = check_private_modes(dir, *found); !ok) return ok.error();
  KekId last = *active;
  if (!found->public_halves.empty()) last = std::max(last, found->public_halves.back());
  if (!found->private_halves.empty()) last = std::max(last, found->private_halves.back());
  if (last == std::numeric_limits<KekId>::max()) return make_error("key ring: no KEK ids left");
  const KekId next = last + 1;
  if (auto written = write_kek(dir, next, unix_seconds(clock)); !written) return written.error();
  if (auto written = write_active(dir, next); !written) return written.error();
  return next;
}

Result<std::vector<KekInfo>> KeyRing::list(const fs::path& dir) {
  if (auto checked = check_directory(dir); !checked) return checked.error();
  auto active = read_active(dir);
  if (!active) return active.error();
  auto found = scan(dir);
  if (!found) return found.error();
  if (auto ok = check_private_modes(dir, *found); !ok) return ok.error();
  std::vector<KekInfo> out;
  for (const KekId id : found->public_halves) {
    auto half = read_public_half(dir, id);
    if (!half) return half.error();
    KekInfo info;
    info.id = id;
    info.created = std::chrono::system_clock::time_point(std::chrono::seconds(half->created));
    info.active = id == *active;
    info.has_private = std::binary_search(found->private_halves.begin(), found->private_halves.end(), id);
    out.push_back(info);
  }
  return out;
}

Result<KeyRing> KeyRing::load(const fs::path& dir, Access access) {
  if (auto checked = check_directory(dir); !checked) return checked.error();
  auto active = read_active(dir);
  if (!active) return active.error();
  auto found = scan(dir);
  if (!found) return found.error();

  KeyRing ring;
  ring.dir_ = dir;
  ring.access_ = access;
  ring.active_ = *active;
  for (const KekId id : found->public_halves) {
    auto half = read_public_half(dir, id);
    if (!half) return half.error();
    // A public key of small order would make every wrap to it worthless; refuse it now.
    if (auto probe = X25519PrivateKey::generate().shared_secret(half->key); !probe) {
      return make_error("key file " + (dir / kek_name(id, ".pub")).string() + ": unusable X25519 key");
    }
    Kek kek;
    kek.id = id;
    kek.created = half->created;
    kek.public_key = half->key;
    ring.keks_.push_back(std::move(kek));
  }
  // Private halves: a seal-only load never opens them, but a readable one is refused either way.
  for (const KekId id : found->private_halves) {
    Kek* kek = ring.find(id);
    if (access == Access::seal || kek == nullptr) {
      if (auto ok = check_file_mode(dir / kek_name(id, ".key"), Holds::secret); !ok) return ok.error();
      continue;
    }
    auto priv = read_private_half(dir, id, kek->public_key);
    if (!priv) return priv.error();
    kek->private_key = std::move(*priv);
  }
  if (ring.find(ring.active_) == nullptr) {
    return make_error("key ring " + dir.string() + ": the active KEK " + kek_name(ring.active_, ".pub") + " is missing");
  }
  for (const auto& name : found->secrets) {
    const fs::path path = dir / (name + std::string(secret_suffix));
    if (!valid_secret_name(name)) return make_error("key file " + path.string() + ": not a valid secret name");
    auto secret = read_key_file(path, Holds::secret);
    if (!secret) return secret.error();
    if (secret->size() != server_secret_size) {
      return make_error("key file " + path.string() + " holds " + std::to_string(secret->size()) + " bytes, not " +
                        std::to_string(server_secret_size));
    }
    ring.secrets_.emplace(name, std::move(*secret));
  }
  for (const auto name : standard_server_secrets) {
    if (ring.secrets_.find(name) == ring.secrets_.end()) {
      return make_error("key ring " + dir.string() + ": server secret " + std::string(name) + std::string(secret_suffix) + " is missing");
    }
  }
  return ring;
}

const KeyRing::Kek* KeyRing::find(KekId id) const noexcept {
  const auto it = std::lower_bound(keks_.begin(), keks_.end(), id, [](const Kek& k, KekId v) { return k.id < v; });
  return it != keks_.end() && it->id == id ? &*it : nullptr;
}

// The ephemeral key a ring is reusing (EphemeralReuse): its public half and the derived wrap key.
struct KeyRing::WrapCache {
  EphemeralReuse reuse;
  std::mutex mutex;
  KekId kek = 0;
  X25519Public ephemeral{};
  SecretBytes kek_key;  // empty: none yet, or used up
  std::uint32_t uses = 0;
  std::chrono::steady_clock::time_point made;
};

void KeyRing::reuse_ephemeral(EphemeralReuse reuse) {
  if (reuse.max_wraps <= 1) {
    wrap_cache_.reset();
    return;
  }
  if (reuse.clock == nullptr) throw std::invalid_argument("crypto: EphemeralReuse needs a clock");
  wrap_cache_ = std::make_shared<WrapCache>();
  wrap_cache_->reuse = reuse;
}

Bytes KeyRing::wrap(const DataKey& key, std::string_view message_id) const {
  if (message_id.size() > 255) throw std::invalid_argument("crypto: a message id is at most 255 bytes");
  const Kek* kek = find(active_);
  if (kek == nullptr) throw std::logic_error("crypto: KeyRing::wrap on an empty key ring");
  X25519Public ephemeral_public{};
  SecretBytes kek_key;
  auto fresh = [&] {
    const X25519PrivateKey ephemeral = X25519PrivateKey::generate();
    auto shared = ephemeral.shared_secret(kek->public_key);
    if (!shared) throw std::runtime_error("crypto: " + shared.error().message);  // the KEK was checked at load
    ephemeral_public = ephemeral.public_key();
    kek_key = wrap_key(*shared, ephemeral_public, kek->public_key);
  };
  if (!wrap_cache_) {
    fresh();
  } else {
    WrapCache& c = *wrap_cache_;
    const auto now = c.reuse.clock->steady_now();
    std::lock_guard lock(c.mutex);
    if (c.kek_key.empty() || c.kek != kek->id || c.uses >= c.reuse.max_wraps || now - c.made >= c.reuse.max_age) {
      fresh();
      c.kek = kek->id;
      c.ephemeral = ephemeral_public;
      c.kek_key = SecretBytes::copy_of(kek_key.view());
      c.uses = 0;
      c.made = now;
    } else {
      ephemeral_public = c.ephemeral;
      kek_key = SecretBytes::copy_of(c.kek_key.view());
    }
    if (++c.uses >= c.reuse.max_wraps) c.kek_key = SecretBytes();  // wiped
  }

  Bytes out(wrapped_key_size);
  out[0] = wrapped_key_version;
  put_u32_be(out.data() + 1, kek->id);
  std::copy(ephemeral_public.begin(), ephemeral_public.end(), out.begin() + 5);
  random_bytes(std::span(out).subspan(wrap_nonce_offset, gcm_nonce_size));
  const WrapAd ad(ByteView(out).first(wrap_header_size), key.id(), message_id);
  aes256gcm_seal(kek_key.view(), ByteView(out).subspan(wrap_nonce_offset, gcm_nonce_size), ad.view(), key.bytes(),
                 std::span(out).subspan(wrap_sealed_offset));
  return out;
}

Result<DataKey> KeyRing::unwrap(ByteView wrapped, const DataKeyId& key_id, std::string_view message_id) const {
  if (access_ != Access::open) {
    return make_error("this key ring was loaded for sealing only; unwrapping needs its private keys (Access::open)");
  }
  if (message_id.size() > 255) return make_error("wrapped key: message id longer than 255 bytes");
  auto kek_id = wrapped_key_kek(wrapped);
  if (!kek_id) return kek_id.error();
  const Kek* kek = find(*kek_id);
  if (kek == nullptr) return make_error("wrapped key: wrapped to KEK " + std::to_string(*kek_id) + ", which this key ring does not have");
  if (!kek->private_key) {
    return make_error("wrapped key: the private half of KEK " + std::to_string(*kek_id) + " is not in the key ring");
  }
  X25519Public ephemeral{};
  std::copy_n(wrapped.begin() + 5, x25519_key_size, ephemeral.begin());
  auto shared = kek->private_key->shared_secret(ephemeral);
  if (!shared) return make_error("wrapped key: bad ephemeral key");
  const SecretBytes kek_key = wrap_key(*shared, ephemeral, kek->public_key);
  const WrapAd ad(wrapped.first(wrap_header_size), key_id, message_id);
  SecretBytes plain(data_key_size);
  auto opened = aes256gcm_open(kek_key.view(), wrapped.subspan(wrap_nonce_offset, gcm_nonce_size), ad.view(),
                               wrapped.subspan(wrap_sealed_offset), plain.span());
  if (!opened) return make_error("wrapped key does not verify (another message or data key, or damaged)");
  return DataKey::from_bytes(key_id, plain.view());
}

Result<Bytes> KeyRing::rewrap(ByteView wrapped, const DataKeyId& key_id, std::string_view message_id) const {
  auto key = unwrap(wrapped, key_id, message_id);
  if (!key) return key.error();
  return wrap(*key, message_id);
}

Result<ByteView> KeyRing::server_secret(std::string_view name) const {
  const auto it = secrets_.find(name);
  if (it == secrets_.end()) return make_error("key ring " + dir_.string() + ": no server secret " + std::string(name));
  return it->second.view();
}

}  // namespace sinetti::crypto

#include "sms/http_client.hpp"

#include <curl/curl.h>

#include <cctype>
#include <memory>
#include <mutex>

#include "sinetti/blocking.hpp"

namespace sinetti::sms {

namespace {

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct EasyDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct ListDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
struct UrlDeleter {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};
struct CurlString {
  char* p = nullptr;
  ~CurlString() { curl_free(p); }
};

struct Transfer {
  HttpReply* reply;
  std::size_t max_bytes;
  bool too_large = false;
};

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t n = size * count;
  if (t->reply->body.size() + n > t->max_bytes) {
    t->too_large = true;
    return 0;  // aborts the transfer with CURLE_WRITE_ERROR
  }
  t->reply->body.append(data, n);
  return n;
}

std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

// Header lines of the final response (a new status line, e.g. after "100 Continue", starts over).
std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t n = size * count;
  const std::string_view line(data, n);
  if (line.starts_with("HTTP/")) {
    t->reply->retry_after.reset();
    t->reply->content_type.clear();
    return n;
  }
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) return n;
  const auto name = line.substr(0, colon);
  constexpr std::size_t max_value = 256;  // we read only short headers; longer ones are cut
  const auto value = trim(line.substr(colon + 1).substr(0, max_value));
  if (iequals(name, "Retry-After")) t->reply->retry_after = value;
  else if (iequals(name, "Content-Type")) t->reply->content_type = value;
  return n;
}

HttpFailure classify(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
      return HttpFailure::connect;
    case CURLE_OPERATION_TIMEDOUT:
      return HttpFailure::timeout;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
      return HttpFailure::tls;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_BAD_FUNCTION_ARGUMENT:
    case CURLE_NOT_BUILT_IN:
      return HttpFailure::request;
    default:
      return HttpFailure::network;  // send/receive errors, empty reply, handshake broken off, ...
  }
}

}  // namespace

const char* to_string(HttpFailure f) {
  switch (f) {
    case HttpFailure::none: return "none";
    case HttpFailure::connect: return "connect";
    case HttpFailure::timeout: return "timeout";
    case HttpFailure::network: return "network";
    case HttpFailure::tls: return "tls";
    case HttpFailure::reply_too_large: return "reply_too_large";
    case HttpFailure::request: return "request";
  }
  return "unknown";
}

HttpOutcome perform(const HttpRequest& request) {
  global_init();
  HttpOutcome out;
  std::unique_ptr<CURL, EasyDeleter> easy(curl_easy_init());
  if (!easy) return {HttpFailure::request, "cannot create a libcurl handle", {}};
  CURL* c = easy.get();

  std::unique_ptr<curl_slist, ListDeleter> headers;
  const auto add_header = [&](const std::string& line) {
    if (curl_slist* head = curl_slist_append(headers.get(), line.c_str())) {
      (void)headers.release();  // `head` is the same list, grown (or a new one when it was empty)
      headers.reset(head);
    }
  };
  for (const auto& [name, value] : request.headers) add_header(name + ": " + value);
  add_header("Expect:");  // no "100-continue" round trip

  Transfer transfer{&out.reply, request.max_reply_bytes};
  char error_buffer[CURL_ERROR_SIZE] = {};
  const long timeout_ms = static_cast<long>(request.timeout.count());

  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(c, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);  // threads: no SIGALRM for name resolution timeouts
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(c, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));  // ASVS 12.1.1
  if (request.ca_file) curl_easy_setopt(c, CURLOPT_CAINFO, request.ca_file->c_str());
  curl_easy_setopt(c, CURLOPT_USERAGENT, "Sinetti");
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, request.body.data());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &transfer);
  switch (request.auth) {
    case HttpRequest::Auth::none:
      break;
    case HttpRequest::Auth::basic:
      curl_easy_setopt(c, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
      curl_easy_setopt(c, CURLOPT_USERNAME, request.username.c_str());
      curl_easy_setopt(c, CURLOPT_PASSWORD, request.password.c_str());
      break;
    case HttpRequest::Auth::bearer:
      curl_easy_setopt(c, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BEARER));
      curl_easy_setopt(c, CURLOPT_XOAUTH2_BEARER, request.password.c_str());
      break;
  }

  CURLcode code;
  {
    const Waiting waiting;
    code = curl_easy_perform(c);
  }
  if (code != CURLE_OK) {
    out.failure = transfer.too_large ? HttpFailure::reply_too_large : classify(code);
    out.error = transfer.too_large ? "reply larger than " + std::to_string(request.max_reply_bytes) + " bytes"
                                   : std::string(curl_easy_strerror(code));
    if (!transfer.too_large && error_buffer[0] != '\0') out.error += ": " + std::string(error_buffer);
    out.reply = HttpReply{};
    return out;
  }
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  out.reply.status = static_cast<int>(status);
  return out;
}

Result<std::string> url_host(const std::string& url) {
  global_init();
  std::unique_ptr<CURLU, UrlDeleter> u(curl_url());
  if (!u) return make_error("cannot parse URL");
  if (curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) return make_error("'" + url + "' is not a URL");
  CurlString scheme, host;
  if (curl_url_get(u.get(), CURLUPART_SCHEME, &scheme.p, 0) != CURLUE_OK ||
      (std::string_view(scheme.p) != "https" && std::string_view(scheme.p) != "http")) {
    return make_error("'" + url + "' is not an http(s) URL");
  }
  if (curl_url_get(u.get(), CURLUPART_HOST, &host.p, 0) != CURLUE_OK || host.p[0] == '\0') {
    return make_error("'" + url + "' has no host");
  }
  return std::string(host.p);
}

}  // namespace sinetti::sms

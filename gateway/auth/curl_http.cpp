#include "gateway/auth/curl_http.hpp"

#include <curl/curl.h>

#include <mutex>

#include "sinetti/blocking.hpp"

namespace sinetti::auth {

namespace {

struct Body {
  std::string data;
  bool too_large = false;
};

std::size_t on_data(char* ptr, std::size_t size, std::size_t n, void* user) {
  auto* body = static_cast<Body*>(user);
  const std::size_t len = size * n;
  if (body->data.size() + len > max_http_body) {
    body->too_large = true;
    return 0;  // aborts the transfer
  }
  body->data.append(ptr, len);
  return len;
}

struct EasyRelease {
  void operator()(CURL* c) const noexcept { curl_easy_cleanup(c); }
};
struct ListRelease {
  void operator()(curl_slist* l) const noexcept { curl_slist_free_all(l); }
};

class CurlHttpClient final : public HttpClient {
 public:
  CurlHttpClient() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  }

  Result<HttpReply> get(const std::string& url) override { return perform(url, nullptr, ""); }

  Result<HttpReply> post_form(const std::string& url, const std::vector<std::pair<std::string, std::string>>& fields,
                              const std::string& basic) override {
    std::string form;
    for (const auto& [k, v] : fields) {
      if (!form.empty()) form += '&';
      form += url_encode(k) + "=" + url_encode(v);
    }
    auto r = perform(url, &form, basic);
    std::fill(form.begin(), form.end(), '\0');
    return r;
  }

 private:
  Result<HttpReply> perform(const std::string& url, const std::string* form, const std::string& basic) {
    std::unique_ptr<CURL, EasyRelease> easy(curl_easy_init());
    if (!easy) return make_error("curl: cannot create a handle");
    CURL* c = easy.get();
    Body body;
    std::unique_ptr<curl_slist, ListRelease> headers(curl_slist_append(nullptr, "Accept: application/json"));
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
    if (form != nullptr) {
      curl_easy_setopt(c, CURLOPT_POST, 1L);
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, form->c_str());
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(form->size()));
    }
    if (!basic.empty()) {
      curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
      curl_easy_setopt(c, CURLOPT_USERPWD, basic.c_str());
    }
    CURLcode rc;
    {
      const Waiting waiting;
      rc = curl_easy_perform(c);
    }
    if (body.too_large) return make_error("http: response larger than the limit");
    if (rc != CURLE_OK) return make_error(std::string("http: ") + curl_easy_strerror(rc));
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    return HttpReply{static_cast<int>(status), std::move(body.data)};
  }
};

}  // namespace

std::shared_ptr<HttpClient> make_curl_http_client() { return std::make_shared<CurlHttpClient>(); }

}  // namespace sinetti::auth

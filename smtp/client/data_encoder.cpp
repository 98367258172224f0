#include "smtp/client/data_encoder.hpp"

#include <algorithm>

namespace sinetti::smtp::client {

void DataEncoder::encode(std::string_view piece, std::string& out) {
  input_bytes_ += piece.size();
  out.reserve(out.size() + piece.size() + piece.size() / 64 + 8);
  std::size_t i = 0;
  // The next CR, kept between lines: stored mail has either CRLF line ends or none with a CR, and
  // two memchr scans beat find_first_of's byte-by-byte test against a set.
  std::size_t cr = piece.find('\r');
  while (i < piece.size()) {
    if (pending_cr_) {
      pending_cr_ = false;
      out += "\r\n";
      line_start_ = true;
      if (piece[i] == '\n') {
        ++i;
        continue;
      }
    }
    if (line_start_ && piece[i] == '.') out += '.';
    // Copy up to the next line end in one go.
    if (cr < i) cr = piece.find('\r', i);
    const auto end = std::min(cr, piece.find('\n', i));
    const std::size_t stop = end == std::string_view::npos ? piece.size() : end;
    if (stop > i) {
      out.append(piece.substr(i, stop - i));
      line_start_ = false;
      i = stop;
    }
    if (i == piece.size()) break;
    if (piece[i] == '\r') {
      pending_cr_ = true;  // decided by the next byte, which may be in the next piece
    } else {
      out += "\r\n";
      line_start_ = true;
    }
    ++i;
  }
}

void DataEncoder::finish(std::string& out) {
  if (pending_cr_) {
    pending_cr_ = false;
    out += "\r\n";
    line_start_ = true;
  }
  if (!line_start_) out += "\r\n";
  out += ".\r\n";
  line_start_ = true;
}

}  // namespace sinetti::smtp::client

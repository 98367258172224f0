// Private to smtp/mime: the only place GMime's C headers enter Sinetti (CONVENTIONS habit 5).
// Marked as a system header so that GLib's C-style cast macros do not trip our warning set.
// No untrusted input here.
#pragma once
#pragma GCC system_header

#include <gmime/gmime.h>

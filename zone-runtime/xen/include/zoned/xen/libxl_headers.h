// The Xen toolstack's C headers, included in one place: they lack extern "C" guards, and the
// libxl API is pinned here (LIBXL_API_VERSION) so a newer libxl cannot change signatures
// under us. Include this, never <libxl.h> directly.
#pragma once

#define LIBXL_API_VERSION 0x041400

extern "C" {
#include <libxl.h>
#include <libxl_utils.h>
#include <xenstore.h>
#include <xentoollog.h>
}

/* Zero-information media for disabled tracks (MS-6).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Black is written through the format's own pack function from one unpacked
 * line (AYUV/ARGB, 8 or 16 bits per component), so every raw format GStreamer
 * can pack gets its exact black, whatever its subsampling, bit depth, endianness
 * or tiling, without a per-format table. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstmediastreamblank.h"

#include <cstring>
#include <vector>

GstBuffer *gst_media_stream_make_black_frame(const GstVideoInfo *info)
{
  const GstVideoFormatInfo *finfo = info->finfo;
  if (!finfo || GST_VIDEO_FORMAT_INFO_FORMAT(finfo) == GST_VIDEO_FORMAT_UNKNOWN ||
      GST_VIDEO_FORMAT_INFO_FORMAT(finfo) == GST_VIDEO_FORMAT_ENCODED || !finfo->pack_func)
    return nullptr;

  const GstVideoFormatInfo *uinfo = gst_video_format_get_info(finfo->unpack_format);
  if (!uinfo)
    return nullptr;
  const bool wide = GST_VIDEO_FORMAT_INFO_BITS(uinfo) > 8; /* AYUV64 / ARGB64 */
  const bool rgb = GST_VIDEO_FORMAT_INFO_IS_RGB(uinfo);
  const bool full_range = info->colorimetry.range == GST_VIDEO_COLOR_RANGE_0_255;

  /* Components in unpacked order A, R/Y, G/U, B/V, on 16 bits. */
  guint16 comp[4];
  comp[0] = 0xffff;
  if (rgb) {
    comp[1] = comp[2] = comp[3] = 0;
  } else {
    comp[1] = full_range ? 0 : (16 << 8);
    comp[2] = comp[3] = 128 << 8;
  }

  const gint width = GST_VIDEO_INFO_WIDTH(info);
  const gint height = GST_VIDEO_INFO_FIELD_HEIGHT(info);
  /* Packers may read a few pixels past the width (pixel groups such as v210's
   * 6 pixels, tiles): give them a generous margin of the same black. */
  const gsize pixels = (gsize)width + 256;
  std::vector<guint8> line(pixels * 4 * (wide ? 2 : 1));
  for (gsize i = 0; i < pixels; i++) {
    for (int c = 0; c < 4; c++) {
      if (wide)
        reinterpret_cast<guint16 *>(line.data())[i * 4 + c] = comp[c];
      else
        line[i * 4 + c] = (guint8)(comp[c] >> 8);
    }
  }

  GstBuffer *buffer = gst_buffer_new_allocate(nullptr, info->size, nullptr);
  if (!buffer)
    return nullptr;
  GstVideoFrame frame;
  if (!gst_video_frame_map(&frame, info, buffer, GST_MAP_WRITE)) {
    gst_buffer_unref(buffer);
    return nullptr;
  }

  if (GST_VIDEO_FORMAT_INFO_HAS_PALETTE(finfo)) {
    gsize palette_size = 0;
    gconstpointer palette =
        gst_video_format_get_palette(GST_VIDEO_INFO_FORMAT(info), &palette_size);
    if (palette && GST_VIDEO_FRAME_PLANE_DATA(&frame, 1))
      memcpy(GST_VIDEO_FRAME_PLANE_DATA(&frame, 1), palette, palette_size);
  }

  const gint pack_lines = MAX(finfo->pack_lines, 1);
  for (gint y = 0; y < height; y += pack_lines) {
    finfo->pack_func(finfo, GST_VIDEO_PACK_FLAG_NONE, line.data(), 0, frame.data, frame.info.stride,
                     info->chroma_site, y, width);
  }
  gst_video_frame_unmap(&frame);
  return buffer;
}

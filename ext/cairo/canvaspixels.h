/* canvaspixels: the pixel work of canvascapturesrc, apart from its timing.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The canvas is a Cairo ARGB32 (alpha=true) or RGB24 (alpha=false) image:
 * native-endian 32-bit words, alpha (or padding) in the top byte, colour
 * premultiplied by alpha. GStreamer's BGRA/ARGB is straight alpha, so a frame
 * of a translucent canvas needs its pixels divided by alpha (CC-10 in
 * docs/plugins/canvascapturesrc.md); a canvas of opaque and fully transparent
 * pixels only is the same bytes either way and goes out as it is.
 *
 * Frame memory comes from a buffer pool when one fits, so that the copies
 * made per frame (copy-on-write of the canvas, converted frames) reuse
 * memory instead of allocating and faulting in a new frame each time.
 *
 * The *_reference functions are the plain scalar definitions the optimised
 * ones must match byte for byte (the unit tests compare them).
 */
#pragma once

#include <gst/gst.h>

namespace canvas_pixels
{

/* Bytes per row of a Cairo ARGB32/RGB24 image @width pixels wide. */
gint stride_for_width(gint width);

/* First row holding a pixel whose alpha is neither 0 nor 255 (premultiplied
 * and straight alpha then differ), or @height if there is none. Pixels are
 * 32-bit words with alpha in bits 24..31; rows start @stride bytes apart. */
gint first_translucent_row(const guint8 *data, gint stride, gint width, gint height);
gint first_translucent_row_reference(const guint8 *data, gint stride, gint width, gint height);

/* Premultiplied -> straight alpha for rows [@y0, @y1): each colour c of a
 * pixel with alpha a in 1..254 becomes min(255, (c * 255 + a / 2) / a);
 * pixels with alpha 0 or 255 are copied as they are. @src and @dst have the
 * same @stride and may be the same memory. */
void unpremultiply_rows(const guint8 *src, guint8 *dst, gint stride, gint width, gint y0, gint y1);
void unpremultiply_rows_reference(const guint8 *src, guint8 *dst, gint stride, gint width, gint y0,
                                  gint y1);
guint32 unpremultiply_pixel_reference(guint32 pixel);

/* memcpy(@dst, @src, @n), with streaming (non-temporal) stores from
 * STREAM_MIN_BYTES up where the CPU has them (x86 SSE2): the copy goes to
 * memory without first reading the destination into the caches and without
 * evicting what they hold (the canvas). For a copy handed downstream while
 * the canvas stays: the next drawing finds the canvas still in the cache. */
constexpr gsize STREAM_MIN_BYTES = 2 * 1024 * 1024;
void stream_bytes(guint8 *dst, const guint8 *src, gsize n);

/* What a copy is for: drawn on next (kept in the cache: memcpy), or handed
 * downstream while the source stays (streaming stores, stream_bytes()). */
enum class CopyUse { Draw, Frame };

/* Whether the canvas buffer may be drawn on in place: nothing downstream
 * still holds it or its memory (otherwise: copy-on-write). */
bool buffer_is_exclusive(GstBuffer *buffer);

/* The allocator of the element's frame memory (canvas, copies, converted
 * frames), owned here. Memory of a few MB (a 720p canvas and up) is mapped
 * on a 2 MB boundary and advised for transparent huge pages on Linux, so
 * that drawing, copying and scanning a 1080p canvas go through 4 huge pages
 * instead of 2025 small ones (each about a quarter faster on the
 * development machine); smaller sizes, where rounding up to 2 MB would waste
 * more than a quarter, or elsewhere: the default allocator's memory. */
GstAllocator *frame_allocator();

/* Whether frame_allocator() maps @maxsize bytes (prefix and padding included)
 * as huge pages: at least 2 MB and rounded up by at most a quarter. */
bool uses_huge_pages(gsize maxsize);

/* A buffer of @size bytes in one memory: from @pool (may be NULL) when the
 * pool is active, has a buffer free at once and its buffers have that size;
 * else freshly allocated from frame_allocator(). Never waits. */
GstBuffer *alloc_frame(GstBufferPool *pool, gsize size);

/* A copy of @src's bytes in a buffer from alloc_frame() (metadata not
 * copied), made for @use, or NULL if a buffer could not be mapped. */
GstBuffer *copy_frame(GstBuffer *src, GstBufferPool *pool, CopyUse use);

/* The frame for a premultiplied ARGB32 canvas of @width x @height: a new
 * buffer from alloc_frame() with straight-alpha pixels when some pixel is
 * translucent; otherwise NULL with *@same_bytes set (the canvas itself can be
 * the frame). NULL with *@same_bytes unset: a buffer could not be mapped. */
GstBuffer *unpremultiplied_frame(GstBuffer *canvas, gint width, gint height, GstBufferPool *pool,
                                 bool *same_bytes);

/* Copies rows [0, @height) of a premultiplied ARGB32 image to @dst in straight
 * alpha, row by row: a row is scanned, then copied or, if it holds a
 * translucent pixel, unpremultiplied, while it is in the cache. The result is
 * what unpremultiply_rows() gives; the separate scan of the whole canvas is
 * saved when the frame has to be a copy anyway. Large frames are written
 * with streaming stores, as stream_bytes(). */
void copy_rows_straight_alpha(const guint8 *src, guint8 *dst, gint stride, gint width, gint height);

/* copy_rows_straight_alpha() of a whole canvas into a buffer from
 * alloc_frame(), or NULL if a buffer could not be mapped. */
GstBuffer *straight_alpha_copy(GstBuffer *canvas, gint width, gint height, GstBufferPool *pool);

/* Whether downstream keeps the frames it is given (a sink keeping its last
 * sample, appsink, a queue), learnt from the canvas: a canvas pushed as a
 * frame and still held at the next drawing had to be copied. While it
 * keeps them, a frame is better made as a copy of the canvas after the
 * drawing (alpha=true: converted in the same pass), written past the caches,
 * than by pushing the canvas and copying it before the next drawing (the
 * same bytes moved, and the drawing then on memory that left the cache);
 * every PROBE_PERIOD-th frame the canvas goes out again to see whether that
 * is still so. Used with the canvas held, like its pixels. */
class HoldTracker
{
public:
  static constexpr guint PROBE_PERIOD = 32;

  /* At each drawing session: @exclusive says whether the canvas was free. */
  void on_draw(bool exclusive)
  {
    if (canvas_pushed_)
      downstream_keeps_ = !exclusive;
    canvas_pushed_ = false;
  }
  /* When making a frame: whether to make it a copy of the canvas. */
  bool frame_as_copy()
  {
    if (!downstream_keeps_)
      return false;
    return ++since_probe_ % PROBE_PERIOD != 0;
  }
  /* The canvas itself went out as a frame. */
  void on_canvas_pushed() { canvas_pushed_ = true; }
  bool downstream_keeps() const { return downstream_keeps_; }

private:
  bool downstream_keeps_ = false;
  bool canvas_pushed_ = false;
  guint since_probe_ = 0;
};

} // namespace canvas_pixels

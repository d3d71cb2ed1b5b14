/* MediaTrackConstraints for track pads (MS-10 in docs/plugins/mediastreambin.md,
 * the table in docs/plugins/constraints.md): parsing, capabilities and the
 * SelectSettings algorithm of the constrainable pattern, apart from any
 * element, so that the unit tests call it directly.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Flow (what mediastreambin does with it):
 *   1. parse_value() (or parse_structure() / parse_json()): the application's
 *      constraints -> Constraints (TypeError on bad input; unknown names
 *      dropped, as WebIDL does).
 *   2. Capabilities::init(): what upstream can deliver (a CAPS query) + the
 *      negotiated caps + whether the bin may convert -> the `capabilities`.
 *   3. select_settings(): the settings with the smallest fitness distance, or
 *      OverconstrainedError naming the constraint; the Selection says which
 *      conversion (scale, crop, frame-rate ceiling, resample, remix) to put in
 *      the track and the caps it must output.
 *   4. reply_success() / reply_error(): the structure the GstPromise answers.
 *
 * Nothing here locks or keeps global state: every function is reentrant.
 * select_settings() takes well under a millisecond for usual constraints and
 * is bounded (about 0.2 s for 1000 advanced sets): call it from the action
 * signal's thread, not from a streaming thread. */
#pragma once

#include <gst/gst.h>

#include <string>
#include <vector>

#include "gstwebcaptureerror.h"

namespace media_constraints
{

enum class MediaKind { VIDEO, AUDIO };

/* The constrainable properties of MediaTrackSupportedConstraints. */
enum class Property {
  WIDTH,
  HEIGHT,
  ASPECT_RATIO,
  FRAME_RATE,
  FACING_MODE,
  RESIZE_MODE,
  SAMPLE_RATE,
  SAMPLE_SIZE,
  ECHO_CANCELLATION,
  AUTO_GAIN_CONTROL,
  NOISE_SUPPRESSION,
  LATENCY,
  CHANNEL_COUNT,
  DEVICE_ID,
  GROUP_ID,
  BACKGROUND_BLUR,
};

/* The web name of @property ("frameRate"). */
const gchar *property_name(Property property);

/* One value of a constraint: a number, a sequence of strings (matches any of
 * them) or a boolean. */
struct Value {
  enum class Type { NONE, NUMBER, STRINGS, BOOLEAN };
  Type type = Type::NONE;
  double number = 0.0;
  std::vector<std::string> strings;
  bool boolean = false;

  bool is_set() const { return type != Type::NONE; }
  bool operator==(const Value &other) const;
};

/* One member of a constraint set: `width: {min: 320, ideal: 640}` or a bare
 * `frameRate: 15` (bare = true, the value kept in `ideal`: an ideal in the
 * basic set, an exact value in an advanced set). */
struct Constraint {
  Property property = Property::WIDTH;
  bool bare = false;
  Value exact;
  Value ideal;
  bool has_min = false, has_max = false;
  double min = 0.0, max = 0.0;

  /* exact, min or max given (or a bare value in an advanced set). */
  bool is_required(bool advanced) const;
  bool operator==(const Constraint &other) const;
};

/* Members in the order given (the first one that cannot be met is named). */
using ConstraintSet = std::vector<Constraint>;

/* A MediaTrackConstraints dictionary: the basic set and `advanced`. */
struct Constraints {
  ConstraintSet basic;
  std::vector<ConstraintSet> advanced;

  bool empty() const { return basic.empty() && advanced.empty(); }
  bool operator==(const Constraints &other) const;
};

/* A web error: TypeError for bad input, OverconstrainedError naming the
 * constraint, NotSupportedError for caps that are not raw media. */
struct Error {
  GstWebError kind = GST_WEB_ERROR_TYPE;
  std::string constraint; /* OverconstrainedError: web name, "" if none */
  std::string message;    /* translated, without the error's name */

  /* The error's name and message, "<Name>: <message>", in the domain and
   * code of docs/decisions.md (OverconstrainedError: GST_CORE_ERROR_NEGOTIATION). */
  GError *to_gerror() const;
  /* Posts it on @element's bus as an ERROR (or WARNING) in the one error language. */
  void post(GstElement *element, GstMessageType type) const;
};

/* Parses the structure form: fields are web names (`frameRate`; the
 * settings' names `frame-rate`, `sample-rate`, `channel-count`,
 * `sample-size`, `aspect-ratio`, `resize-mode` are accepted too); a value is
 * bare (int, uint, int64, double, fraction, string, list or array of
 * strings, boolean), a GStreamer range (`(int)[1, 640]` = min and max) or a
 * structure with `exact`, `ideal`, `min`, `max` (its name is not read);
 * `advanced` is an array or list of structures (or one structure). On
 * failure returns false and fills @error (TypeError). */
bool parse_structure(const GstStructure *structure, Constraints *out, Error *error);

/* Parses the JSON text of a MediaTrackConstraints dictionary
 * (`{"width":{"max":640},"frameRate":15,"advanced":[{"width":320}]}`). */
bool parse_json(const gchar *json, Constraints *out, Error *error);

/* Either form, as an action signal receives it: a GstStructure (structure
 * form) or a string (JSON). Any other type: TypeError. */
bool parse_value(const GValue *value, Constraints *out, Error *error);

/* The structure form of @constraints (named "constraints", web names; what
 * the track pad's `constraints` property shows). parse_structure() of it
 * gives @constraints back. */
GstStructure *constraints_to_structure(const Constraints &constraints);

/* What a track can deliver (MS-10 getCapabilities). */
struct Capabilities {
  MediaKind kind = MediaKind::VIDEO;
  bool can_convert = false;

  /* The negotiated ("native") settings. frame_rate is the caps' framerate,
   * or the max-framerate of a variable-rate source (variable_rate true,
   * e.g. canvascapturesrc), else 0. */
  gint width = 0, height = 0;
  gdouble frame_rate = 0.0;
  bool variable_rate = false;
  gint sample_rate = 0, channels = 0, sample_size = 0;

  /* The ranges reported as `capabilities`. */
  gint width_min = 0, width_max = 0, height_min = 0, height_max = 0;
  gdouble frame_rate_min = 0.0, frame_rate_max = 0.0;
  gint sample_rate_min = 0, sample_rate_max = 0;
  gint channels_min = 0, channels_max = 0;

  Capabilities() = default;
  Capabilities(const Capabilities &) = delete;
  Capabilities &operator=(const Capabilities &) = delete;
  ~Capabilities();

  /* @upstream: what upstream can deliver (the answer to a CAPS query; may
   * hold ranges and lists; NULL or ANY = unknown, only @native then).
   * @native: the negotiated caps (fixed); NULL = @upstream fixated.
   * @can_convert: the bin inserts videoscale/videocrop/videorate or
   * audioresample/audioconvert: sizes 1..native (cropped to keep the
   * aspect ratio asked), frame rates 0..native (decimation), any sample
   * rate, 1..64 channels. Without it only what upstream delivers.
   * Returns false (NotSupportedError) if the caps are not raw video/audio
   * of @kind or not fixable. */
  bool init(MediaKind kind, const GstCaps *upstream, const GstCaps *native, bool can_convert,
            Error *error);

  /* The `capabilities` structure: width, height (int or int range), aspectRatio,
   * frameRate (double or double range), resizeMode (array of strings) for
   * video; sampleRate, channelCount, sampleSize for audio. */
  GstStructure *to_structure() const;

  GstCaps *upstream = nullptr; /* owned */
  GstCaps *native = nullptr;   /* owned, fixed */
};

/* The result of SelectSettings. */
struct Selection {
  /* The `settings` structure: width, height, aspect-ratio, frame-rate,
   * resize-mode (video); sample-rate, channel-count, sample-size (audio);
   * and format, when the caps have one. */
  GstStructure *settings = nullptr;
  /* Fixed caps the track outputs: the native caps with width/height/
   * framerate (max-framerate for a variable-rate source) or rate/channels
   * replaced (channel-mask dropped when the channel count changes). */
  GstCaps *caps = nullptr;

  /* Video: the picture is cropped by these many pixels of the native frame
   * (to the aspect ratio asked, centred), then scaled to width x height. */
  gint crop_left = 0, crop_right = 0, crop_top = 0, crop_bottom = 0;
  bool needs_crop = false;
  bool needs_scale = false;
  bool needs_rate = false;     /* frame-rate ceiling below the native rate (videorate) */
  bool needs_resample = false; /* audio sample rate (audioresample) */
  bool needs_remix = false;    /* channel count (audioconvert) */
  /* The settings are not the native ones but upstream delivers them
   * itself (another caps in its CAPS answer): the bin asks for them with a
   * capsfilter, no converter needed. */
  bool changes_upstream = false;
  /* One entry per advanced set: true if it was applied, false if skipped. */
  std::vector<bool> advanced_applied;

  /* Any conversion element needed (none when the settings are native). */
  bool needs_conversion() const
  {
    return needs_crop || needs_scale || needs_rate || needs_resample || needs_remix;
  }

  Selection() = default;
  Selection(const Selection &) = delete;
  Selection &operator=(const Selection &) = delete;
  ~Selection();
};

/* The spec's SelectSettings: among the settings @caps allows, those that
 * satisfy the required constraints of the basic set, narrowed by each
 * advanced set that can be satisfied (in order, the others skipped), the one
 * with the smallest fitness distance to the ideals (ties: the native aspect
 * ratio, size and rate, then no conversion). False + OverconstrainedError
 * naming the first required constraint that no remaining setting meets. */
bool select_settings(const Constraints &constraints, const Capabilities &caps, Selection *out,
                     Error *error);

/* The fitness distance between one candidate's settings (a `settings`
 * structure as above) and a constraint set: 0 when nothing is asked,
 * |actual - ideal| / max(|actual|, |ideal|) per number, 1 per string or
 * boolean that differs, infinity when a required constraint is not met
 * (@advanced: bare values are exact). Exposed for the unit tests. */
gdouble fitness_distance(const ConstraintSet &set, MediaKind kind, const GstStructure *settings,
                         bool advanced);

/* The reply of `apply-constraints` for the GstPromise: "apply-constraints"
 * with `settings` (GstStructure) on success; with `error` (GError, as
 * webrtcbin's promises carry), `dom-exception`, `message` and `constraint`
 * on failure. */
GstStructure *reply_success(const GstStructure *settings);
GstStructure *reply_error(const Error &error);

} // namespace media_constraints

/* MediaTrackConstraints: parsing, capabilities, SelectSettings (MS-10 in
 * docs/plugins/mediastreambin.md; the table in docs/plugins/constraints.md).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "mediatrackconstraints.h"

#include <gst/audio/audio.h>
#include <json-glib/json-glib.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <tuple>

#include "gstwebcapturei18n.h"

namespace media_constraints
{

namespace
{

/* WebIDL's type of each constraint (MediaTrackConstraintSet). */
enum class ValueKind { ULONG, DOUBLE, STRING, BOOLEAN, BOOLEAN_OR_STRING };

/* Which tracks have a setting for the property. */
enum Applies { VIDEO = 1, AUDIO = 2, NONE = 0 };

struct PropertyInfo {
  Property property;
  const gchar *name;  /* web name */
  const gchar *alias; /* the `settings` structure's name, also accepted */
  ValueKind kind;
  int applies;  /* kinds the property is defined for (others: "does not apply") */
  int settable; /* kinds whose tracks have this setting here */
};

/* Every name of MediaTrackSupportedConstraints. Tracks here have settings
 * for the video size and rate and the audio rate, channels and sample size;
 * the others are known (so a required one is refused) but never met. */
const PropertyInfo properties[] = {
    {Property::WIDTH, "width", nullptr, ValueKind::ULONG, VIDEO, VIDEO},
    {Property::HEIGHT, "height", nullptr, ValueKind::ULONG, VIDEO, VIDEO},
    {Property::ASPECT_RATIO, "aspectRatio", "aspect-ratio", ValueKind::DOUBLE, VIDEO, VIDEO},
    {Property::FRAME_RATE, "frameRate", "frame-rate", ValueKind::DOUBLE, VIDEO, VIDEO},
    {Property::FACING_MODE, "facingMode", "facing-mode", ValueKind::STRING, VIDEO, NONE},
    {Property::RESIZE_MODE, "resizeMode", "resize-mode", ValueKind::STRING, VIDEO, VIDEO},
    {Property::SAMPLE_RATE, "sampleRate", "sample-rate", ValueKind::ULONG, AUDIO, AUDIO},
    {Property::SAMPLE_SIZE, "sampleSize", "sample-size", ValueKind::ULONG, AUDIO, AUDIO},
    {Property::ECHO_CANCELLATION, "echoCancellation", "echo-cancellation",
     ValueKind::BOOLEAN_OR_STRING, AUDIO, NONE},
    {Property::AUTO_GAIN_CONTROL, "autoGainControl", "auto-gain-control", ValueKind::BOOLEAN, AUDIO,
     NONE},
    {Property::NOISE_SUPPRESSION, "noiseSuppression", "noise-suppression", ValueKind::BOOLEAN,
     AUDIO, NONE},
    {Property::LATENCY, "latency", nullptr, ValueKind::DOUBLE, AUDIO, NONE},
    {Property::CHANNEL_COUNT, "channelCount", "channel-count", ValueKind::ULONG, AUDIO, AUDIO},
    {Property::DEVICE_ID, "deviceId", "device-id", ValueKind::STRING, VIDEO | AUDIO, NONE},
    {Property::GROUP_ID, "groupId", "group-id", ValueKind::STRING, VIDEO | AUDIO, NONE},
    {Property::BACKGROUND_BLUR, "backgroundBlur", "background-blur", ValueKind::BOOLEAN, VIDEO,
     NONE},
};

const PropertyInfo &info_of(Property property)
{
  for (const PropertyInfo &info : properties)
    if (info.property == property)
      return info;
  g_assert_not_reached();
  return properties[0];
}

const PropertyInfo *find_property(const gchar *name)
{
  for (const PropertyInfo &info : properties)
    if (g_str_equal(name, info.name) || (info.alias && g_str_equal(name, info.alias)))
      return &info;
  return nullptr;
}

constexpr double kEpsilon = 1e-6;
/* audioconvert (1.22) remixes between positioned layouts of 1 to 8 channels: beyond, a
 * conversion does not negotiate (and 64 input channels crash it) */
constexpr gint kMaxChannels = 8;
constexpr double kInfinity = std::numeric_limits<double>::infinity();
constexpr size_t kMaxWanted = 32; /* values tried per property, see wanted_numbers() */

const gchar *const kResizeNone = "none";
const gchar *const kResizeCropAndScale = "crop-and-scale";

Error type_error(std::string message)
{
  Error e;
  e.kind = GST_WEB_ERROR_TYPE;
  e.message = std::move(message);
  return e;
}

std::string printf_string(const gchar *format, ...) G_GNUC_PRINTF(1, 2);
std::string printf_string(const gchar *format, ...)
{
  va_list args;
  va_start(args, format);
  gchar *text = g_strdup_vprintf(format, args);
  va_end(args);
  std::string result(text);
  g_free(text);
  return result;
}

/* ---- Parsing: one raw form for both front ends ------------------------ */

/* A member as given: a bare value, or a dictionary of exact/ideal/min/max. */
struct RawConstraint {
  bool dictionary = false;
  Value bare;
  Value exact, ideal, min, max;
  bool bad_type = false; /* a value of a type no constraint takes */
};

bool check_number(const PropertyInfo &info, const gchar *member, const Value &v, Error *error)
{
  const gchar *name = info.name;
  if (!std::isfinite(v.number)) {
    *error =
        type_error(printf_string(_("constraint %s (%s) must be a finite number."), name, member));
    return false;
  }
  if (info.kind == ValueKind::ULONG &&
      (v.number < 0 || v.number > G_MAXUINT32 || v.number != std::floor(v.number))) {
    *error = type_error(
        printf_string(_("constraint %s (%s) must be a whole number from 0 to 4294967295 (%g)."),
                      name, member, v.number));
    return false;
  }
  return true;
}

bool type_fits(ValueKind kind, const Value &v)
{
  switch (kind) {
  case ValueKind::ULONG:
  case ValueKind::DOUBLE:
    return v.type == Value::Type::NUMBER;
  case ValueKind::STRING:
    return v.type == Value::Type::STRINGS;
  case ValueKind::BOOLEAN:
    return v.type == Value::Type::BOOLEAN;
  case ValueKind::BOOLEAN_OR_STRING:
    return v.type == Value::Type::BOOLEAN || v.type == Value::Type::STRINGS;
  }
  return false;
}

const gchar *expected_type(ValueKind kind)
{
  switch (kind) {
  case ValueKind::ULONG:
  case ValueKind::DOUBLE:
    return _("a number or {exact, ideal, min, max}");
  case ValueKind::STRING:
    return _("a string, a list of strings or {exact, ideal}");
  case ValueKind::BOOLEAN:
    return _("a boolean or {exact, ideal}");
  case ValueKind::BOOLEAN_OR_STRING:
    return _("a boolean, a string or {exact, ideal}");
  }
  return "";
}

Error wrong_type(const PropertyInfo &info)
{
  return type_error(
      printf_string(_("constraint %s must be %s."), info.name, expected_type(info.kind)));
}

/* Checks the raw member against the property's type and makes the
 * constraint. *keep is false for a member that asks for nothing (an empty
 * dictionary or sequence: "as if not specified"). */
bool make_constraint(const PropertyInfo &info, const RawConstraint &raw, Constraint *out,
                     bool *keep, Error *error)
{
  *keep = false;
  if (raw.bad_type) {
    *error = wrong_type(info);
    return false;
  }
  Constraint c;
  c.property = info.property;
  bool numeric = info.kind == ValueKind::ULONG || info.kind == ValueKind::DOUBLE;

  auto take = [&](const Value &v, const gchar *member, Value *dest) -> bool {
    if (!v.is_set())
      return true;
    if (!type_fits(info.kind, v)) {
      *error = wrong_type(info);
      return false;
    }
    if (v.type == Value::Type::NUMBER && !check_number(info, member, v, error))
      return false;
    if (v.type == Value::Type::STRINGS && v.strings.empty())
      return true; /* an empty sequence: no constraint */
    *dest = v;
    return true;
  };

  if (!raw.dictionary) {
    c.bare = true;
    if (!take(raw.bare, "ideal", &c.ideal))
      return false;
  } else {
    if (!take(raw.exact, "exact", &c.exact) || !take(raw.ideal, "ideal", &c.ideal))
      return false;
    /* min and max belong to the numeric ranges only (WebIDL ignores them
     * elsewhere). */
    if (numeric) {
      Value min, max;
      if (!take(raw.min, "min", &min) || !take(raw.max, "max", &max))
        return false;
      c.has_min = min.is_set();
      c.min = min.number;
      c.has_max = max.is_set();
      c.max = max.number;
      if (c.has_min && c.has_max && c.min > c.max) {
        *error = type_error(printf_string(_("constraint %s has min %g greater than max %g."),
                                          info.name, c.min, c.max));
        return false;
      }
    }
  }
  *keep = c.exact.is_set() || c.ideal.is_set() || c.has_min || c.has_max;
  *out = std::move(c);
  return true;
}

/* Adds or replaces the constraint of the same property in @set. */
void set_constraint(ConstraintSet *set, Constraint c)
{
  for (Constraint &existing : *set) {
    if (existing.property == c.property) {
      existing = std::move(c);
      return;
    }
  }
  set->push_back(std::move(c));
}

/* ---- GstStructure front end ------------------------------------------- */

/* A bare GValue as a Value; NONE for types no constraint takes. */
Value value_from_gvalue(const GValue *v)
{
  Value out;
  GType t = G_VALUE_TYPE(v);
  if (t == G_TYPE_INT || t == G_TYPE_UINT || t == G_TYPE_INT64 || t == G_TYPE_UINT64 ||
      t == G_TYPE_DOUBLE || t == G_TYPE_FLOAT || t == G_TYPE_LONG || t == G_TYPE_ULONG) {
    GValue d = G_VALUE_INIT;
    g_value_init(&d, G_TYPE_DOUBLE);
    g_value_transform(v, &d);
    out.type = Value::Type::NUMBER;
    out.number = g_value_get_double(&d);
    g_value_unset(&d);
  } else if (t == GST_TYPE_FRACTION) {
    gint d = gst_value_get_fraction_denominator(v);
    if (d != 0) {
      out.type = Value::Type::NUMBER;
      out.number = (double)gst_value_get_fraction_numerator(v) / d;
    }
  } else if (t == G_TYPE_STRING) {
    const gchar *s = g_value_get_string(v);
    if (s) {
      out.type = Value::Type::STRINGS;
      out.strings.emplace_back(s);
    }
  } else if (t == G_TYPE_BOOLEAN) {
    out.type = Value::Type::BOOLEAN;
    out.boolean = g_value_get_boolean(v);
  } else if (t == GST_TYPE_LIST || t == GST_TYPE_ARRAY) {
    bool is_list = t == GST_TYPE_LIST;
    guint n = is_list ? gst_value_list_get_size(v) : gst_value_array_get_size(v);
    out.type = Value::Type::STRINGS;
    for (guint i = 0; i < n; i++) {
      const GValue *item =
          is_list ? gst_value_list_get_value(v, i) : gst_value_array_get_value(v, i);
      if (!G_VALUE_HOLDS_STRING(item) || !g_value_get_string(item))
        return Value(); /* only sequences of strings */
      out.strings.emplace_back(g_value_get_string(item));
    }
  }
  return out;
}

RawConstraint raw_from_gvalue(const GValue *v)
{
  RawConstraint raw;
  GType t = G_VALUE_TYPE(v);
  if (t == GST_TYPE_STRUCTURE) {
    const GstStructure *s = gst_value_get_structure(v);
    raw.dictionary = true;
    if (!s)
      return raw;
    struct {
      const gchar *name;
      Value *dest;
    } members[] = {
        {"exact", &raw.exact}, {"ideal", &raw.ideal}, {"min", &raw.min}, {"max", &raw.max}};
    for (auto &m : members) {
      const GValue *mv = gst_structure_get_value(s, m.name);
      if (!mv)
        continue;
      *m.dest = value_from_gvalue(mv);
      if (!m.dest->is_set())
        raw.bad_type = true;
    }
  } else if (t == GST_TYPE_INT_RANGE || t == GST_TYPE_INT64_RANGE || t == GST_TYPE_DOUBLE_RANGE ||
             t == GST_TYPE_FRACTION_RANGE) {
    /* A GStreamer range is {min, max}. */
    raw.dictionary = true;
    raw.min.type = raw.max.type = Value::Type::NUMBER;
    if (t == GST_TYPE_INT_RANGE) {
      raw.min.number = gst_value_get_int_range_min(v);
      raw.max.number = gst_value_get_int_range_max(v);
    } else if (t == GST_TYPE_INT64_RANGE) {
      raw.min.number = (double)gst_value_get_int64_range_min(v);
      raw.max.number = (double)gst_value_get_int64_range_max(v);
    } else if (t == GST_TYPE_DOUBLE_RANGE) {
      raw.min.number = gst_value_get_double_range_min(v);
      raw.max.number = gst_value_get_double_range_max(v);
    } else {
      raw.min = value_from_gvalue(gst_value_get_fraction_range_min(v));
      raw.max = value_from_gvalue(gst_value_get_fraction_range_max(v));
      if (!raw.min.is_set() || !raw.max.is_set())
        raw.bad_type = true;
    }
  } else {
    raw.bare = value_from_gvalue(v);
    if (!raw.bare.is_set())
      raw.bad_type = true;
  }
  return raw;
}

bool parse_set_structure(const GstStructure *s, bool top, Constraints *out, ConstraintSet *set,
                         Error *error)
{
  gint n = gst_structure_n_fields(s);
  for (gint i = 0; i < n; i++) {
    const gchar *name = gst_structure_nth_field_name(s, i);
    const GValue *v = gst_structure_get_value(s, name);
    if (top && g_str_equal(name, "advanced")) {
      GType t = G_VALUE_TYPE(v);
      std::vector<const GstStructure *> sets;
      if (t == GST_TYPE_STRUCTURE) {
        sets.push_back(gst_value_get_structure(v));
      } else if (t == GST_TYPE_ARRAY || t == GST_TYPE_LIST) {
        bool is_list = t == GST_TYPE_LIST;
        guint count = is_list ? gst_value_list_get_size(v) : gst_value_array_get_size(v);
        for (guint k = 0; k < count; k++) {
          const GValue *item =
              is_list ? gst_value_list_get_value(v, k) : gst_value_array_get_value(v, k);
          if (!GST_VALUE_HOLDS_STRUCTURE(item)) {
            sets.clear();
            sets.push_back(nullptr);
            break;
          }
          sets.push_back(gst_value_get_structure(item));
        }
      } else {
        sets.push_back(nullptr);
      }
      for (const GstStructure *a : sets) {
        if (!a) {
          *error = type_error(_("advanced must be a list of constraint sets."));
          return false;
        }
        ConstraintSet advanced_set;
        if (!parse_set_structure(a, false, out, &advanced_set, error))
          return false;
        out->advanced.push_back(std::move(advanced_set));
      }
      continue;
    }
    const PropertyInfo *info = find_property(name);
    if (!info)
      continue; /* unknown names are ignored, as WebIDL drops them */
    Constraint c;
    bool keep = false;
    if (!make_constraint(*info, raw_from_gvalue(v), &c, &keep, error))
      return false;
    if (keep)
      set_constraint(set, std::move(c));
  }
  return true;
}

/* ---- JSON front end ---------------------------------------------------- */

Value value_from_json(JsonNode *node)
{
  Value out;
  if (JSON_NODE_HOLDS_VALUE(node)) {
    GType t = json_node_get_value_type(node);
    if (t == G_TYPE_INT64 || t == G_TYPE_DOUBLE) {
      out.type = Value::Type::NUMBER;
      out.number = json_node_get_double(node);
    } else if (t == G_TYPE_STRING) {
      out.type = Value::Type::STRINGS;
      out.strings.emplace_back(json_node_get_string(node));
    } else if (t == G_TYPE_BOOLEAN) {
      out.type = Value::Type::BOOLEAN;
      out.boolean = json_node_get_boolean(node);
    }
  } else if (JSON_NODE_HOLDS_ARRAY(node)) {
    JsonArray *array = json_node_get_array(node);
    out.type = Value::Type::STRINGS;
    for (guint i = 0; i < json_array_get_length(array); i++) {
      JsonNode *item = json_array_get_element(array, i);
      if (!JSON_NODE_HOLDS_VALUE(item) || json_node_get_value_type(item) != G_TYPE_STRING)
        return Value();
      out.strings.emplace_back(json_node_get_string(item));
    }
  }
  return out;
}

RawConstraint raw_from_json(JsonNode *node)
{
  RawConstraint raw;
  if (JSON_NODE_HOLDS_OBJECT(node)) {
    JsonObject *object = json_node_get_object(node);
    raw.dictionary = true;
    struct {
      const gchar *name;
      Value *dest;
    } members[] = {
        {"exact", &raw.exact}, {"ideal", &raw.ideal}, {"min", &raw.min}, {"max", &raw.max}};
    for (auto &m : members) {
      JsonNode *mv = json_object_get_member(object, m.name);
      if (!mv || JSON_NODE_HOLDS_NULL(mv))
        continue; /* undefined / null: not given */
      *m.dest = value_from_json(mv);
      if (!m.dest->is_set())
        raw.bad_type = true;
    }
  } else {
    raw.bare = value_from_json(node);
    if (!raw.bare.is_set())
      raw.bad_type = true;
  }
  return raw;
}

bool parse_set_json(JsonObject *object, bool top, Constraints *out, ConstraintSet *set,
                    Error *error)
{
  GList *names = json_object_get_members(object);
  bool ok = true;
  for (GList *l = names; l && ok; l = l->next) {
    const gchar *name = (const gchar *)l->data;
    JsonNode *node = json_object_get_member(object, name);
    if (top && g_str_equal(name, "advanced")) {
      if (!JSON_NODE_HOLDS_ARRAY(node)) {
        *error = type_error(_("advanced must be a list of constraint sets."));
        ok = false;
        break;
      }
      JsonArray *array = json_node_get_array(node);
      for (guint k = 0; k < json_array_get_length(array) && ok; k++) {
        JsonNode *item = json_array_get_element(array, k);
        if (!JSON_NODE_HOLDS_OBJECT(item)) {
          *error = type_error(_("advanced must be a list of constraint sets."));
          ok = false;
          break;
        }
        ConstraintSet advanced_set;
        ok = parse_set_json(json_node_get_object(item), false, out, &advanced_set, error);
        if (ok)
          out->advanced.push_back(std::move(advanced_set));
      }
      continue;
    }
    const PropertyInfo *info = find_property(name);
    if (!info || JSON_NODE_HOLDS_NULL(node))
      continue; /* unknown names (and undefined members) are ignored */
    Constraint c;
    bool keep = false;
    ok = make_constraint(*info, raw_from_json(node), &c, &keep, error);
    if (ok && keep)
      set_constraint(set, std::move(c));
  }
  g_list_free(names);
  return ok;
}

/* ---- Back to a structure ------------------------------------------------ */

void value_to_gvalue(const PropertyInfo &info, const Value &v, GValue *out)
{
  switch (v.type) {
  case Value::Type::NUMBER:
    if (info.kind == ValueKind::ULONG && v.number <= G_MAXINT) {
      g_value_init(out, G_TYPE_INT);
      g_value_set_int(out, (gint)v.number);
    } else if (info.kind == ValueKind::ULONG) {
      g_value_init(out, G_TYPE_UINT);
      g_value_set_uint(out, (guint)v.number);
    } else {
      g_value_init(out, G_TYPE_DOUBLE);
      g_value_set_double(out, v.number);
    }
    break;
  case Value::Type::STRINGS:
    if (v.strings.size() == 1) {
      g_value_init(out, G_TYPE_STRING);
      g_value_set_string(out, v.strings[0].c_str());
    } else {
      g_value_init(out, GST_TYPE_ARRAY);
      for (const std::string &s : v.strings) {
        GValue item = G_VALUE_INIT;
        g_value_init(&item, G_TYPE_STRING);
        g_value_set_string(&item, s.c_str());
        gst_value_array_append_and_take_value(out, &item);
      }
    }
    break;
  case Value::Type::BOOLEAN:
    g_value_init(out, G_TYPE_BOOLEAN);
    g_value_set_boolean(out, v.boolean);
    break;
  case Value::Type::NONE:
    break;
  }
}

GstStructure *set_to_structure(const ConstraintSet &set, const gchar *name)
{
  GstStructure *s = gst_structure_new_empty(name);
  for (const Constraint &c : set) {
    const PropertyInfo &info = info_of(c.property);
    GValue v = G_VALUE_INIT;
    if (c.bare) {
      value_to_gvalue(info, c.ideal, &v);
    } else {
      GstStructure *range = gst_structure_new_empty("range");
      struct {
        const gchar *name;
        Value value;
      } members[] = {{"exact", c.exact}, {"ideal", c.ideal}, {"min", Value()}, {"max", Value()}};
      if (c.has_min) {
        members[2].value.type = Value::Type::NUMBER;
        members[2].value.number = c.min;
      }
      if (c.has_max) {
        members[3].value.type = Value::Type::NUMBER;
        members[3].value.number = c.max;
      }
      for (auto &m : members) {
        if (!m.value.is_set())
          continue;
        GValue mv = G_VALUE_INIT;
        value_to_gvalue(info, m.value, &mv);
        gst_structure_take_value(range, m.name, &mv);
      }
      g_value_init(&v, GST_TYPE_STRUCTURE);
      gst_value_set_structure(&v, range);
      gst_structure_free(range);
    }
    gst_structure_take_value(s, info.name, &v);
  }
  return s;
}

/* ---- Settings dictionaries and the fitness distance -------------------- */

/* One settings dictionary (a candidate). Fields absent for the other kind. */
struct Settings {
  MediaKind kind = MediaKind::VIDEO;
  gint width = 0, height = 0;
  gdouble frame_rate = 0.0;
  const gchar *resize_mode = kResizeNone;
  gint sample_rate = 0, channels = 0, sample_size = 0;
  /* Which fields exist (a settings structure given to fitness_distance()
   * may lack some). */
  bool has_width = false, has_height = false, has_rate = false, has_resize = false;
  bool has_sample_rate = false, has_channels = false, has_sample_size = false;
};

double aspect_of(gint width, gint height)
{
  if (height <= 0)
    return 0.0;
  /* "rounded to the tenth decimal place" */
  return std::round((double)width / height * 1e10) / 1e10;
}

/* The setting's value, NONE if the track has no such setting. */
Value actual_value(const Settings &s, Property property)
{
  Value v;
  auto number = [&](bool has, double n) {
    if (has) {
      v.type = Value::Type::NUMBER;
      v.number = n;
    }
  };
  switch (property) {
  case Property::WIDTH:
    number(s.has_width, s.width);
    break;
  case Property::HEIGHT:
    number(s.has_height, s.height);
    break;
  case Property::ASPECT_RATIO:
    number(s.has_width && s.has_height, aspect_of(s.width, s.height));
    break;
  case Property::FRAME_RATE:
    number(s.has_rate, s.frame_rate);
    break;
  case Property::RESIZE_MODE:
    if (s.has_resize) {
      v.type = Value::Type::STRINGS;
      v.strings.emplace_back(s.resize_mode);
    }
    break;
  case Property::SAMPLE_RATE:
    number(s.has_sample_rate, s.sample_rate);
    break;
  case Property::CHANNEL_COUNT:
    number(s.has_channels, s.channels);
    break;
  case Property::SAMPLE_SIZE:
    number(s.has_sample_size, s.sample_size);
    break;
  default:
    break; /* no such setting on our tracks */
  }
  return v;
}

bool numbers_equal(double a, double b)
{
  return std::fabs(a - b) <= kEpsilon * std::max(1.0, std::max(std::fabs(a), std::fabs(b)));
}

/* "==" of the spec: for strings, one of the sequence's values is the same. */
bool value_matches(const Value &actual, const Value &wanted)
{
  switch (wanted.type) {
  case Value::Type::NUMBER:
    return actual.type == Value::Type::NUMBER && numbers_equal(actual.number, wanted.number);
  case Value::Type::STRINGS:
    return actual.type == Value::Type::STRINGS && !actual.strings.empty() &&
           std::find(wanted.strings.begin(), wanted.strings.end(), actual.strings[0]) !=
               wanted.strings.end();
  case Value::Type::BOOLEAN:
    return actual.type == Value::Type::BOOLEAN && actual.boolean == wanted.boolean;
  case Value::Type::NONE:
    return true;
  }
  return false;
}

double constraint_distance(const Constraint &c, const Settings &s, bool advanced)
{
  Value actual = actual_value(s, c.property);
  if (c.is_required(advanced)) {
    if (!actual.is_set())
      return kInfinity;
    const Value &exact = (advanced && c.bare) ? c.ideal : c.exact;
    double lo = actual.number, hi = actual.number;
    if (c.property == Property::ASPECT_RATIO && s.height > 1) {
      /* Whole pixels rarely make a ratio exactly: a size meets every ratio
       * it is the rounding of (267x150 is 16:9, as 16/9 x 150 = 266.7). */
      lo = (s.width - 0.5) / (s.height + 0.5);
      hi = (s.width + 0.5) / (s.height - 0.5);
      if (exact.type == Value::Type::NUMBER && (exact.number < lo || exact.number > hi))
        return kInfinity;
    } else if (exact.is_set() && !value_matches(actual, exact)) {
      return kInfinity;
    }
    if (c.has_min && hi < c.min - kEpsilon * std::max(1.0, std::fabs(c.min)))
      return kInfinity;
    if (c.has_max && lo > c.max + kEpsilon * std::max(1.0, std::fabs(c.max)))
      return kInfinity;
  }
  /* In an advanced set only whether it can be met counts (bare = exact). */
  if (advanced || !c.ideal.is_set())
    return 0.0;
  const PropertyInfo &info = info_of(c.property);
  int kind = s.kind == MediaKind::VIDEO ? VIDEO : AUDIO;
  if (!(info.applies & kind))
    return 0.0; /* does not apply to this kind of track */
  if (!actual.is_set())
    return 1.0;
  if (c.ideal.type == Value::Type::NUMBER) {
    double a = actual.number, i = c.ideal.number;
    if (numbers_equal(a, i))
      return 0.0;
    return std::fabs(a - i) / std::max(std::fabs(a), std::fabs(i));
  }
  return value_matches(actual, c.ideal) ? 0.0 : 1.0;
}

double set_distance(const ConstraintSet &set, const Settings &s, bool advanced)
{
  double sum = 0.0;
  for (const Constraint &c : set)
    sum += constraint_distance(c, s, advanced);
  return sum;
}

/* ---- Reading caps ------------------------------------------------------- */

bool structure_is(const GstStructure *s, MediaKind kind)
{
  return gst_structure_has_name(s, kind == MediaKind::VIDEO ? "video/x-raw" : "audio/x-raw");
}

double fraction_value(const GValue *v)
{
  gint d = gst_value_get_fraction_denominator(v);
  return d ? (double)gst_value_get_fraction_numerator(v) / d : 0.0;
}

/* Bounds over the members of a list or array @v that @one can bound; false
 * when none can. */
template <typename T>
bool list_bounds(const GValue *v, T *lo, T *hi, bool (*one)(const GValue *, T *, T *))
{
  bool is_list = G_VALUE_TYPE(v) == GST_TYPE_LIST;
  guint n = is_list ? gst_value_list_get_size(v) : gst_value_array_get_size(v);
  bool any = false;
  for (guint i = 0; i < n; i++) {
    T a, b;
    if (one(is_list ? gst_value_list_get_value(v, i) : gst_value_array_get_value(v, i), &a, &b)) {
      *lo = any ? std::min(*lo, a) : a;
      *hi = any ? std::max(*hi, b) : b;
      any = true;
    }
  }
  return any;
}

/* Bounds of an int field (int, range, list); false if absent/other. */
bool int_bounds(const GValue *v, gint *lo, gint *hi)
{
  if (!v)
    return false;
  GType t = G_VALUE_TYPE(v);
  if (t == G_TYPE_INT) {
    *lo = *hi = g_value_get_int(v);
    return true;
  }
  if (t == GST_TYPE_INT_RANGE) {
    *lo = gst_value_get_int_range_min(v);
    *hi = gst_value_get_int_range_max(v);
    return true;
  }
  if (t == GST_TYPE_LIST || t == GST_TYPE_ARRAY)
    return list_bounds<gint>(v, lo, hi, int_bounds);
  return false;
}

/* Bounds of a fraction field (fraction, range, list) as doubles. */
bool fraction_bounds(const GValue *v, double *lo, double *hi)
{
  if (!v)
    return false;
  GType t = G_VALUE_TYPE(v);
  if (t == GST_TYPE_FRACTION) {
    *lo = *hi = fraction_value(v);
    return true;
  }
  if (t == GST_TYPE_FRACTION_RANGE) {
    *lo = fraction_value(gst_value_get_fraction_range_min(v));
    *hi = fraction_value(gst_value_get_fraction_range_max(v));
    return true;
  }
  if (t == GST_TYPE_LIST || t == GST_TYPE_ARRAY)
    return list_bounds<double>(v, lo, hi, fraction_bounds);
  return false;
}

/* Values of a field worth trying: fixed values, range ends, and each of
 * @wanted clamped into each range. */
void collect_candidates(const GValue *v, const std::vector<double> &wanted, std::set<double> *out)
{
  if (!v)
    return;
  GType t = G_VALUE_TYPE(v);
  if (t == G_TYPE_INT) {
    out->insert(g_value_get_int(v));
  } else if (t == GST_TYPE_FRACTION) {
    out->insert(fraction_value(v));
  } else if (t == GST_TYPE_INT_RANGE || t == GST_TYPE_FRACTION_RANGE) {
    double lo, hi;
    if (t == GST_TYPE_INT_RANGE) {
      lo = gst_value_get_int_range_min(v);
      hi = gst_value_get_int_range_max(v);
    } else {
      lo = fraction_value(gst_value_get_fraction_range_min(v));
      hi = fraction_value(gst_value_get_fraction_range_max(v));
    }
    out->insert(lo);
    out->insert(hi);
    for (double w : wanted) {
      double c = std::min(hi, std::max(lo, w));
      out->insert(t == GST_TYPE_INT_RANGE ? std::round(c) : c);
    }
  } else if (t == GST_TYPE_LIST || t == GST_TYPE_ARRAY) {
    bool is_list = t == GST_TYPE_LIST;
    guint n = is_list ? gst_value_list_get_size(v) : gst_value_array_get_size(v);
    for (guint i = 0; i < n; i++)
      collect_candidates(is_list ? gst_value_list_get_value(v, i) : gst_value_array_get_value(v, i),
                         wanted, out);
  }
}

bool caps_is_known(const GstCaps *caps)
{
  return caps && !gst_caps_is_any(caps) && !gst_caps_is_empty(caps);
}

/* Every number the constraints mention for @property (exact, ideal, min, max). */
std::vector<double> wanted_numbers(const Constraints &constraints, Property property)
{
  std::vector<double> out;
  auto add = [&](const ConstraintSet &set) {
    for (const Constraint &c : set) {
      if (c.property != property)
        continue;
      if (c.exact.type == Value::Type::NUMBER)
        out.push_back(c.exact.number);
      if (c.ideal.type == Value::Type::NUMBER)
        out.push_back(c.ideal.number);
      if (c.has_min)
        out.push_back(c.min);
      if (c.has_max)
        out.push_back(c.max);
    }
  };
  add(constraints.basic);
  for (const ConstraintSet &set : constraints.advanced)
    add(set);
  /* Distinct values in the order given, at most kMaxWanted: the candidates
   * grow with their product, and a page may send any number of advanced
   * sets (values past the limit are not tried: sets needing them exactly
   * are skipped). */
  std::vector<double> distinct;
  for (double v : out) {
    if (distinct.size() >= kMaxWanted)
      break;
    if (std::none_of(distinct.begin(), distinct.end(), [v](double d) { return d == v; }))
      distinct.push_back(v);
  }
  return distinct;
}

/* The value closest to @v that @field allows (int or fraction: fixed,
 * range, list); false if the field is absent or of another type. */
bool nearest_allowed(const GValue *field, double v, double *out)
{
  if (!field)
    return false;
  GType t = G_VALUE_TYPE(field);
  if (t == G_TYPE_INT) {
    *out = g_value_get_int(field);
  } else if (t == GST_TYPE_FRACTION) {
    *out = fraction_value(field);
  } else if (t == GST_TYPE_INT_RANGE) {
    *out = std::round(std::min<double>(gst_value_get_int_range_max(field),
                                       std::max<double>(gst_value_get_int_range_min(field), v)));
  } else if (t == GST_TYPE_FRACTION_RANGE) {
    *out = std::min(fraction_value(gst_value_get_fraction_range_max(field)),
                    std::max(fraction_value(gst_value_get_fraction_range_min(field)), v));
  } else if (t == GST_TYPE_LIST || t == GST_TYPE_ARRAY) {
    bool is_list = t == GST_TYPE_LIST;
    guint n = is_list ? gst_value_list_get_size(field) : gst_value_array_get_size(field);
    bool any = false;
    for (guint i = 0; i < n; i++) {
      double c;
      if (nearest_allowed(is_list ? gst_value_list_get_value(field, i)
                                  : gst_value_array_get_value(field, i),
                          v, &c) &&
          (!any || std::fabs(c - v) < std::fabs(*out - v))) {
        *out = c;
        any = true;
      }
    }
    return any;
  } else {
    return false;
  }
  return true;
}

/* A candidate: the settings and what it takes to deliver them. */
struct Candidate {
  Settings settings;
  /* What upstream must deliver (video size and rate, audio rate and
   * channels): the native settings unless changes_upstream. */
  gint src_width = 0, src_height = 0;
  gdouble src_rate = 0.0;
  gint src_sample_rate = 0, src_channels = 0;
  bool changes_upstream = false;
  int conversions = 0;
};

GstCaps *caps_for(const Capabilities &caps, const Settings &s)
{
  GstCaps *out = gst_caps_copy(caps.native);
  GstStructure *st = gst_caps_get_structure(out, 0);
  if (caps.kind == MediaKind::VIDEO) {
    gst_structure_set(st, "width", G_TYPE_INT, s.width, "height", G_TYPE_INT, s.height, NULL);
    gint n = 0, d = 1;
    gst_util_double_to_fraction(s.frame_rate, &n, &d);
    if (caps.variable_rate)
      gst_structure_set(st, "max-framerate", GST_TYPE_FRACTION, n, d, NULL);
    else if (s.frame_rate > 0 || gst_structure_has_field(st, "framerate"))
      gst_structure_set(st, "framerate", GST_TYPE_FRACTION, n, d, NULL);
  } else {
    gst_structure_set(st, "rate", G_TYPE_INT, s.sample_rate, "channels", G_TYPE_INT, s.channels,
                      NULL);
    if (s.channels != caps.channels) {
      if (s.channels > 2)
        gst_structure_set(st, "channel-mask", GST_TYPE_BITMASK,
                          gst_audio_channel_get_fallback_mask(s.channels), NULL);
      else
        gst_structure_remove_field(st, "channel-mask");
    }
  }
  return out;
}

class Deliverable
{
public:
  explicit Deliverable(const Capabilities &caps) : caps_(caps) {}

  /* Upstream delivers these settings itself (native, or in its caps). */
  bool check(const Settings &s)
  {
    auto key = std::make_tuple(s.width, s.height, s.frame_rate, s.sample_rate, s.channels);
    auto it = cache_.find(key);
    if (it != cache_.end())
      return it->second;
    bool ok = false;
    if (caps_is_known(caps_.upstream)) {
      GstCaps *wanted = caps_for(caps_, s);
      ok = gst_caps_can_intersect(wanted, caps_.upstream);
      gst_caps_unref(wanted);
    }
    cache_[key] = ok;
    return ok;
  }

private:
  const Capabilities &caps_;
  std::map<std::tuple<gint, gint, gdouble, gint, gint>, bool> cache_;
};

/* Values to try for one numeric setting: native, the constraints', and
 * upstream's (per structure of its caps). */
std::set<double> values_for(const Constraints &constraints, const Capabilities &caps,
                            Property property, const gchar *field, double native)
{
  std::vector<double> wanted = wanted_numbers(constraints, property);
  std::set<double> out(wanted.begin(), wanted.end());
  out.insert(native);
  if (caps_is_known(caps.upstream)) {
    for (guint i = 0; i < gst_caps_get_size(caps.upstream); i++) {
      const GstStructure *s = gst_caps_get_structure(caps.upstream, i);
      if (structure_is(s, caps.kind))
        collect_candidates(gst_structure_get_value(s, field), wanted, &out);
    }
  }
  return out;
}

std::vector<Candidate> video_candidates(const Constraints &constraints, const Capabilities &caps)
{
  const gint nw = caps.width, nh = caps.height;
  const double nr = caps.frame_rate;
  std::vector<double> wanted_w = wanted_numbers(constraints, Property::WIDTH);
  std::vector<double> wanted_h = wanted_numbers(constraints, Property::HEIGHT);
  std::vector<double> wanted_r = wanted_numbers(constraints, Property::FRAME_RATE);

  /* Sizes to try: each width asked (and the native one) with each height,
   * and with the height of each aspect ratio asked (and the native one),
   * and the other way round: `width: 640` alone gives 640x360 from
   * 1280x720. Pairs, not a grid of every value: that grows too fast. */
  std::vector<double> aspects = wanted_numbers(constraints, Property::ASPECT_RATIO);
  aspects.push_back((double)nw / nh);
  std::vector<double> widths = wanted_w, heights = wanted_h;
  widths.push_back(nw);
  heights.push_back(nh);
  std::set<std::pair<double, double>> sizes;
  for (double w : widths)
    for (double h : heights)
      sizes.emplace(w, h);
  for (double a : aspects) {
    if (!(a > 0) || !std::isfinite(a))
      continue;
    for (double w : widths)
      sizes.emplace(w, std::round(w / a));
    for (double h : heights)
      sizes.emplace(std::round(h * a), h);
  }

  Deliverable deliverable(caps);
  std::vector<Candidate> out;
  std::set<std::tuple<gint, gint, double, bool, gint, gint, double>> seen;
  /* One candidate: @w x @h at @r, made from what upstream delivers at
   * @sw x @sh, @sr (cropped and scaled, frames dropped). */
  auto add = [&](double w, double h, double r, bool crop_and_scale, gint sw, gint sh, double sr) {
    if (w < 1 || h < 1 || w > G_MAXINT || h > G_MAXINT || r < 0 || !std::isfinite(r))
      return;
    if (!seen.insert(std::make_tuple((gint)w, (gint)h, r, crop_and_scale, sw, sh, sr)).second)
      return;
    Candidate c;
    c.settings.kind = MediaKind::VIDEO;
    c.settings.width = (gint)w;
    c.settings.height = (gint)h;
    c.settings.frame_rate = r;
    c.settings.resize_mode = crop_and_scale ? kResizeCropAndScale : kResizeNone;
    c.settings.has_width = c.settings.has_height = c.settings.has_rate = true;
    c.settings.has_resize = true;
    c.src_width = sw;
    c.src_height = sh;
    c.src_rate = sr;
    if (sw != nw || sh != nh || !numbers_equal(sr, nr)) {
      Settings src = c.settings;
      src.width = sw;
      src.height = sh;
      src.frame_rate = sr;
      if (!deliverable.check(src))
        return;
      c.changes_upstream = true;
    }
    c.conversions = (crop_and_scale && (c.settings.width != sw || c.settings.height != sh)) +
                    !numbers_equal(r, sr);
    out.push_back(c);
  };

  /* Frame-rate ceilings below the native rate (frames dropped). */
  std::vector<double> ceilings;
  if (caps.can_convert)
    for (double r : wanted_r)
      if (r > 0 && r < nr)
        ceilings.push_back(r);
  /* Sizes downscaled (and cropped) from the native size (MS-10). */
  std::vector<std::pair<double, double>> scaled;
  if (caps.can_convert)
    for (auto &size : sizes)
      if (size.first <= nw && size.second <= nh)
        scaled.push_back(size);

  /* The native settings, and conversions of them. */
  add(nw, nh, nr, false, nw, nh, nr);
  for (double r : ceilings)
    add(nw, nh, r, false, nw, nh, nr);
  for (auto &size : scaled) {
    add(size.first, size.second, nr, true, nw, nh, nr);
    for (double r : ceilings)
      add(size.first, size.second, r, true, nw, nh, nr);
  }

  /* What upstream offers itself, per structure of its caps: its fixed
   * values, range ends and the values asked clamped into its ranges. */
  if (!caps_is_known(caps.upstream))
    return out;
  std::set<double> upstream_rates;
  for (guint i = 0; i < gst_caps_get_size(caps.upstream); i++) {
    const GstStructure *s = gst_caps_get_structure(caps.upstream, i);
    if (!structure_is(s, MediaKind::VIDEO))
      continue;
    const GValue *wf = gst_structure_get_value(s, "width");
    const GValue *hf = gst_structure_get_value(s, "height");
    /* Its own sizes (fixed values, range ends)... */
    std::set<double> ws, hs, rs;
    collect_candidates(wf, {}, &ws);
    collect_candidates(hf, {}, &hs);
    std::set<std::pair<double, double>> offered;
    for (double w : ws)
      for (double h : hs)
        offered.emplace(w, h);
    /* ...and the nearest it has to each size to try. */
    for (auto &size : sizes) {
      double w, h;
      if (nearest_allowed(wf, size.first, &w) && nearest_allowed(hf, size.second, &h))
        offered.emplace(w, h);
    }
    if (caps.variable_rate)
      rs.insert(nr); /* the rate of a variable-rate source is not asked for */
    else
      collect_candidates(gst_structure_get_value(s, "framerate"), wanted_r, &rs);
    if (rs.empty())
      rs.insert(nr);
    upstream_rates.insert(rs.begin(), rs.end());
    for (auto &size : offered) {
      double w = size.first, h = size.second;
      for (double r : rs)
        add(w, h, r, false, (gint)w, (gint)h, r);
      for (double r : ceilings)
        add(w, h, r, false, (gint)w, (gint)h, nr);
    }
  }
  /* Scaled from the native size at another rate upstream offers. */
  for (double r : upstream_rates) {
    if (r <= 0 || numbers_equal(r, nr))
      continue;
    add(nw, nh, r, false, nw, nh, r);
    for (auto &size : scaled)
      add(size.first, size.second, r, true, nw, nh, r);
  }
  return out;
}

std::vector<Candidate> audio_candidates(const Constraints &constraints, const Capabilities &caps)
{
  std::set<double> rates =
      values_for(constraints, caps, Property::SAMPLE_RATE, "rate", caps.sample_rate);
  std::set<double> channels =
      values_for(constraints, caps, Property::CHANNEL_COUNT, "channels", caps.channels);
  Deliverable deliverable(caps);
  std::vector<Candidate> out;
  for (double r : rates) {
    for (double ch : channels) {
      if (r < 1 || r > G_MAXINT || ch < 1 || ch > G_MAXINT)
        continue;
      Candidate c;
      c.settings.kind = MediaKind::AUDIO;
      c.settings.sample_rate = (gint)r;
      c.settings.channels = (gint)ch;
      c.settings.sample_size = caps.sample_size;
      c.settings.has_sample_rate = c.settings.has_channels = c.settings.has_sample_size = true;
      bool native =
          c.settings.sample_rate == caps.sample_rate && c.settings.channels == caps.channels;
      if (native) {
        c.src_sample_rate = caps.sample_rate;
        c.src_channels = caps.channels;
        out.push_back(c);
        continue;
      }
      /* Resampled and remixed from the native stream (MS-10). */
      if (caps.can_convert && ch <= kMaxChannels && caps.channels <= kMaxChannels) {
        Candidate converted = c;
        converted.src_sample_rate = caps.sample_rate;
        converted.src_channels = caps.channels;
        converted.conversions = (c.settings.sample_rate != caps.sample_rate ? 1 : 0) +
                                (c.settings.channels != caps.channels ? 1 : 0);
        out.push_back(converted);
      }
      /* What upstream offers itself. */
      if (deliverable.check(c.settings)) {
        c.src_sample_rate = c.settings.sample_rate;
        c.src_channels = c.settings.channels;
        c.changes_upstream = true;
        out.push_back(c);
      }
    }
  }
  return out;
}

/* Ties between candidates at the same fitness distance: the native
 * aspect ratio, then the native size and rate (closest), then no change
 * upstream, no resizing label, fewest conversions. */
std::tuple<double, double, double, int, int, int> tie_key(const Candidate &c,
                                                          const Capabilities &caps)
{
  auto rel = [](double a, double b) {
    double m = std::max(std::fabs(a), std::fabs(b));
    return m > 0 ? std::fabs(a - b) / m : 0.0;
  };
  const Settings &s = c.settings;
  if (s.kind == MediaKind::VIDEO)
    return std::make_tuple(rel(aspect_of(s.width, s.height), aspect_of(caps.width, caps.height)),
                           rel(s.width, caps.width) + rel(s.height, caps.height),
                           rel(s.frame_rate, caps.frame_rate), c.changes_upstream ? 1 : 0,
                           g_str_equal(s.resize_mode, kResizeNone) ? 0 : 1, c.conversions);
  return std::make_tuple(0.0, rel(s.channels, caps.channels), rel(s.sample_rate, caps.sample_rate),
                         c.changes_upstream ? 1 : 0, 0, c.conversions);
}

GstStructure *settings_structure(const Settings &s)
{
  if (s.kind == MediaKind::VIDEO)
    return gst_structure_new("settings", "width", G_TYPE_INT, s.width, "height", G_TYPE_INT,
                             s.height, "aspect-ratio", G_TYPE_DOUBLE, aspect_of(s.width, s.height),
                             "frame-rate", G_TYPE_DOUBLE, s.frame_rate, "resize-mode",
                             G_TYPE_STRING, s.resize_mode, NULL);
  return gst_structure_new("settings", "sample-rate", G_TYPE_INT, s.sample_rate, "channel-count",
                           G_TYPE_INT, s.channels, "sample-size", G_TYPE_INT, s.sample_size, NULL);
}

Error overconstrained(Property property)
{
  Error e;
  e.kind = GST_WEB_ERROR_OVERCONSTRAINED;
  e.constraint = property_name(property);
  e.message = printf_string(_("no setting of this track satisfies the constraint %s."),
                            e.constraint.c_str());
  return e;
}

void set_int_or_range(GstStructure *s, const gchar *name, gint lo, gint hi)
{
  if (lo >= hi)
    gst_structure_set(s, name, G_TYPE_INT, hi, NULL);
  else
    gst_structure_set(s, name, GST_TYPE_INT_RANGE, lo, hi, NULL);
}

void set_double_or_range(GstStructure *s, const gchar *name, double lo, double hi)
{
  if (lo >= hi)
    gst_structure_set(s, name, G_TYPE_DOUBLE, hi, NULL);
  else
    gst_structure_set(s, name, GST_TYPE_DOUBLE_RANGE, lo, hi, NULL);
}

} // namespace

/* ---- Public ------------------------------------------------------------- */

const gchar *property_name(Property property)
{
  return info_of(property).name;
}

bool Value::operator==(const Value &other) const
{
  if (type != other.type)
    return false;
  switch (type) {
  case Type::NUMBER:
    return number == other.number;
  case Type::STRINGS:
    return strings == other.strings;
  case Type::BOOLEAN:
    return boolean == other.boolean;
  case Type::NONE:
    return true;
  }
  return false;
}

bool Constraint::is_required(bool advanced) const
{
  return exact.is_set() || has_min || has_max || (advanced && bare);
}

bool Constraint::operator==(const Constraint &o) const
{
  return property == o.property && bare == o.bare && exact == o.exact && ideal == o.ideal &&
         has_min == o.has_min && has_max == o.has_max && (!has_min || min == o.min) &&
         (!has_max || max == o.max);
}

bool Constraints::operator==(const Constraints &other) const
{
  return basic == other.basic && advanced == other.advanced;
}

GError *Error::to_gerror() const
{
  GQuark domain = GST_RESOURCE_ERROR;
  gint code = GST_RESOURCE_ERROR_SETTINGS;
  if (kind == GST_WEB_ERROR_OVERCONSTRAINED) {
    domain = GST_CORE_ERROR;
    code = GST_CORE_ERROR_NEGOTIATION;
  } else if (kind == GST_WEB_ERROR_SECURITY) {
    code = GST_RESOURCE_ERROR_NOT_AUTHORIZED;
  }
  return g_error_new(domain, code, "%s: %s", gst_web_error_name(kind), message.c_str());
}

void Error::post(GstElement *element, GstMessageType type) const
{
  gst_web_message_postf(element, type, kind, constraint.empty() ? nullptr : constraint.c_str(),
                        nullptr, __FILE__, GST_FUNCTION, __LINE__, "%s", message.c_str());
}

bool parse_structure(const GstStructure *structure, Constraints *out, Error *error)
{
  g_return_val_if_fail(structure && out && error, false);
  Constraints parsed;
  if (!parse_set_structure(structure, true, &parsed, &parsed.basic, error))
    return false;
  *out = std::move(parsed);
  return true;
}

bool parse_json(const gchar *json, Constraints *out, Error *error)
{
  g_return_val_if_fail(out && error, false);
  if (!json) {
    *error = type_error(_("constraints must be a JSON object (a MediaTrackConstraints "
                          "dictionary)."));
    return false;
  }
  JsonParser *parser = json_parser_new();
  GError *parse_error = nullptr;
  bool ok = json_parser_load_from_data(parser, json, -1, &parse_error);
  if (!ok) {
    *error =
        type_error(printf_string(_("constraints are not valid JSON: %s."), parse_error->message));
    g_clear_error(&parse_error);
  } else {
    JsonNode *root = json_parser_get_root(parser);
    if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
      *error = type_error(_("constraints must be a JSON object (a MediaTrackConstraints "
                            "dictionary)."));
      ok = false;
    } else {
      Constraints parsed;
      ok = parse_set_json(json_node_get_object(root), true, &parsed, &parsed.basic, error);
      if (ok)
        *out = std::move(parsed);
    }
  }
  g_object_unref(parser);
  return ok;
}

bool parse_value(const GValue *value, Constraints *out, Error *error)
{
  g_return_val_if_fail(value && out && error, false);
  if (GST_VALUE_HOLDS_STRUCTURE(value) && gst_value_get_structure(value))
    return parse_structure(gst_value_get_structure(value), out, error);
  if (G_VALUE_HOLDS_STRING(value))
    return parse_json(g_value_get_string(value), out, error);
  *error = type_error(_("constraints must be a GstStructure or the JSON text of a "
                        "MediaTrackConstraints dictionary."));
  return false;
}

GstStructure *constraints_to_structure(const Constraints &constraints)
{
  GstStructure *s = set_to_structure(constraints.basic, "constraints");
  if (!constraints.advanced.empty()) {
    GValue array = G_VALUE_INIT;
    g_value_init(&array, GST_TYPE_ARRAY);
    for (const ConstraintSet &set : constraints.advanced) {
      GValue item = G_VALUE_INIT;
      g_value_init(&item, GST_TYPE_STRUCTURE);
      GstStructure *a = set_to_structure(set, "advanced");
      gst_value_set_structure(&item, a);
      gst_structure_free(a);
      gst_value_array_append_and_take_value(&array, &item);
    }
    gst_structure_take_value(s, "advanced", &array);
  }
  return s;
}

Capabilities::~Capabilities()
{
  gst_clear_caps(&upstream);
  gst_clear_caps(&native);
}

bool Capabilities::init(MediaKind kind_, const GstCaps *upstream_, const GstCaps *native_,
                        bool can_convert_, Error *error)
{
  g_return_val_if_fail(error, false);
  gst_clear_caps(&upstream);
  gst_clear_caps(&native);
  kind = kind_;
  can_convert = can_convert_;
  const gchar *media = kind == MediaKind::VIDEO ? "video/x-raw" : "audio/x-raw";

  /* Only the raw structures of our kind count. */
  if (caps_is_known(upstream_)) {
    upstream = gst_caps_new_empty();
    for (guint i = 0; i < gst_caps_get_size(upstream_); i++) {
      const GstStructure *s = gst_caps_get_structure(upstream_, i);
      if (structure_is(s, kind))
        gst_caps_append_structure_full(upstream, gst_structure_copy(s),
                                       gst_caps_features_copy(gst_caps_get_features(upstream_, i)));
    }
  }
  if (native_)
    native = gst_caps_copy(native_);
  else if (upstream && !gst_caps_is_empty(upstream))
    native = gst_caps_fixate(gst_caps_copy(upstream));

  auto refuse = [&](const GstCaps *shown) {
    gchar *text = shown ? gst_caps_to_string(shown) : g_strdup("(none)");
    error->kind = GST_WEB_ERROR_NOT_SUPPORTED;
    error->constraint.clear();
    error->message = printf_string(_("the track carries no fixed %s caps (%s)."), media, text);
    g_free(text);
    gst_clear_caps(&upstream);
    gst_clear_caps(&native);
    return false;
  };
  if (!native || !gst_caps_is_fixed(native) ||
      !structure_is(gst_caps_get_structure(native, 0), kind))
    return refuse(native_ ? native_ : upstream_);

  const GstStructure *ns = gst_caps_get_structure(native, 0);
  if (kind == MediaKind::VIDEO) {
    gint n = 0, d = 1;
    if (!gst_structure_get_int(ns, "width", &width) ||
        !gst_structure_get_int(ns, "height", &height) || width < 1 || height < 1)
      return refuse(native);
    frame_rate = 0.0;
    variable_rate = false;
    if (gst_structure_get_fraction(ns, "framerate", &n, &d) && n > 0 && d > 0) {
      frame_rate = (double)n / d;
    } else if (gst_structure_get_fraction(ns, "max-framerate", &n, &d) && n > 0 && d > 0) {
      frame_rate = (double)n / d;
      variable_rate = true;
    }
    width_min = width_max = width;
    height_min = height_max = height;
    frame_rate_min = frame_rate_max = frame_rate;
    if (upstream) {
      for (guint i = 0; i < gst_caps_get_size(upstream); i++) {
        const GstStructure *s = gst_caps_get_structure(upstream, i);
        gint lo, hi;
        double flo, fhi;
        if (int_bounds(gst_structure_get_value(s, "width"), &lo, &hi)) {
          width_min = std::min(width_min, lo);
          width_max = std::max(width_max, hi);
        }
        if (int_bounds(gst_structure_get_value(s, "height"), &lo, &hi)) {
          height_min = std::min(height_min, lo);
          height_max = std::max(height_max, hi);
        }
        if (fraction_bounds(gst_structure_get_value(s, "framerate"), &flo, &fhi)) {
          frame_rate_min = std::min(frame_rate_min, flo);
          frame_rate_max = std::max(frame_rate_max, fhi);
        }
        if (fraction_bounds(gst_structure_get_value(s, "max-framerate"), &flo, &fhi))
          frame_rate_max = std::max(frame_rate_max, fhi);
      }
    }
    if (can_convert) {
      width_min = height_min = 1;
      frame_rate_min = 0.0;
    }
  } else {
    GstAudioInfo info;
    if (!gst_audio_info_from_caps(&info, native))
      return refuse(native);
    sample_rate = GST_AUDIO_INFO_RATE(&info);
    channels = GST_AUDIO_INFO_CHANNELS(&info);
    sample_size = GST_AUDIO_INFO_DEPTH(&info);
    sample_rate_min = sample_rate_max = sample_rate;
    channels_min = channels_max = channels;
    if (upstream) {
      for (guint i = 0; i < gst_caps_get_size(upstream); i++) {
        const GstStructure *s = gst_caps_get_structure(upstream, i);
        gint lo, hi;
        if (int_bounds(gst_structure_get_value(s, "rate"), &lo, &hi)) {
          sample_rate_min = std::min(sample_rate_min, lo);
          sample_rate_max = std::max(sample_rate_max, hi);
        }
        if (int_bounds(gst_structure_get_value(s, "channels"), &lo, &hi)) {
          channels_min = std::min(channels_min, lo);
          channels_max = std::max(channels_max, hi);
        }
      }
    }
    if (can_convert) {
      sample_rate_min = 1;
      sample_rate_max = G_MAXINT;
      channels_min = 1;
      channels_max = std::max(channels_max, kMaxChannels);
    }
  }
  return true;
}

GstStructure *Capabilities::to_structure() const
{
  GstStructure *s = gst_structure_new_empty("capabilities");
  if (!native)
    return s;
  if (kind == MediaKind::VIDEO) {
    set_int_or_range(s, "width", width_min, width_max);
    set_int_or_range(s, "height", height_min, height_max);
    set_double_or_range(s, "aspectRatio", aspect_of(width_min, height_max),
                        aspect_of(width_max, height_min));
    set_double_or_range(s, "frameRate", frame_rate_min, frame_rate_max);
    GValue modes = G_VALUE_INIT;
    g_value_init(&modes, GST_TYPE_ARRAY);
    for (const gchar *mode : {kResizeNone, kResizeCropAndScale}) {
      if (g_str_equal(mode, kResizeCropAndScale) && !can_convert)
        continue;
      GValue item = G_VALUE_INIT;
      g_value_init(&item, G_TYPE_STRING);
      g_value_set_static_string(&item, mode);
      gst_value_array_append_and_take_value(&modes, &item);
    }
    gst_structure_take_value(s, "resizeMode", &modes);
  } else {
    set_int_or_range(s, "sampleRate", sample_rate_min, sample_rate_max);
    set_int_or_range(s, "channelCount", channels_min, channels_max);
    set_int_or_range(s, "sampleSize", sample_size, sample_size);
  }
  return s;
}

Selection::~Selection()
{
  if (settings)
    gst_structure_free(settings);
  gst_clear_caps(&caps);
}

bool select_settings(const Constraints &constraints, const Capabilities &caps, Selection *out,
                     Error *error)
{
  g_return_val_if_fail(out && error && caps.native, false);
  std::vector<Candidate> candidates = caps.kind == MediaKind::VIDEO
                                          ? video_candidates(constraints, caps)
                                          : audio_candidates(constraints, caps);

  /* The basic set's required constraints, in the order given: the one that
   * leaves no candidate is the one OverconstrainedError names. */
  for (const Constraint &c : constraints.basic) {
    if (!c.is_required(false))
      continue;
    std::vector<Candidate> kept;
    for (const Candidate &cand : candidates)
      if (std::isfinite(constraint_distance(c, cand.settings, false)))
        kept.push_back(cand);
    if (kept.empty()) {
      *error = overconstrained(c.property);
      return false;
    }
    candidates = std::move(kept);
  }
  if (candidates.empty()) {
    /* Cannot happen: the native settings are always a candidate. */
    *error = overconstrained(Property::WIDTH);
    error->constraint.clear();
    return false;
  }

  /* Advanced sets in order, each kept only if some candidate meets it. */
  std::vector<bool> applied;
  for (const ConstraintSet &set : constraints.advanced) {
    std::vector<Candidate> kept;
    for (const Candidate &cand : candidates)
      if (std::isfinite(set_distance(set, cand.settings, true)))
        kept.push_back(cand);
    applied.push_back(!kept.empty());
    if (!kept.empty())
      candidates = std::move(kept);
  }

  const Candidate *best = nullptr;
  double best_distance = kInfinity;
  for (const Candidate &cand : candidates) {
    double d = set_distance(constraints.basic, cand.settings, false);
    if (!best || d < best_distance - 1e-12 ||
        (d <= best_distance + 1e-12 && tie_key(cand, caps) < tie_key(*best, caps))) {
      best = &cand;
      best_distance = std::min(d, best_distance);
    }
  }

  /* Fill the selection. */
  if (out->settings)
    gst_structure_free(out->settings);
  gst_clear_caps(&out->caps);
  const Settings &s = best->settings;
  out->settings = settings_structure(s);
  /* The format never changes: the same field as the pad's `settings`. */
  const gchar *format = gst_structure_get_string(gst_caps_get_structure(caps.native, 0), "format");
  if (format)
    gst_structure_set(out->settings, "format", G_TYPE_STRING, format, NULL);
  out->caps = caps_for(caps, s);
  out->advanced_applied = applied;
  out->changes_upstream = best->changes_upstream;
  out->crop_left = out->crop_right = out->crop_top = out->crop_bottom = 0;
  out->needs_crop = out->needs_scale = out->needs_rate = false;
  out->needs_resample = out->needs_remix = false;
  if (caps.kind == MediaKind::VIDEO) {
    gint sw = best->src_width, sh = best->src_height;
    if (g_str_equal(s.resize_mode, kResizeCropAndScale) && (s.width != sw || s.height != sh)) {
      /* crop-and-scale keeps the picture undistorted: crop the source to
       * the aspect ratio asked (centred) when scaling alone would stretch
       * it by a pixel or more. */
      double target = (double)s.width / s.height;
      if (std::fabs((double)sw * s.height / sh - s.width) >= 1.0) {
        gint cw = std::min(sw, (gint)std::lround(sh * target));
        gint ch = std::min(sh, (gint)std::lround(sw / target));
        out->crop_left = (sw - cw) / 2;
        out->crop_right = sw - cw - out->crop_left;
        out->crop_top = (sh - ch) / 2;
        out->crop_bottom = sh - ch - out->crop_top;
        out->needs_crop = cw != sw || ch != sh;
        sw = cw;
        sh = ch;
      }
      out->needs_scale = s.width != sw || s.height != sh;
    }
    out->needs_rate = !numbers_equal(s.frame_rate, best->src_rate);
  } else {
    out->needs_resample = s.sample_rate != best->src_sample_rate;
    out->needs_remix = s.channels != best->src_channels;
  }
  return true;
}

gdouble fitness_distance(const ConstraintSet &set, MediaKind kind, const GstStructure *settings,
                         bool advanced)
{
  Settings s;
  s.kind = kind;
  s.has_width = gst_structure_get_int(settings, "width", &s.width);
  s.has_height = gst_structure_get_int(settings, "height", &s.height);
  s.has_rate = gst_structure_get_double(settings, "frame-rate", &s.frame_rate);
  const gchar *mode = gst_structure_get_string(settings, "resize-mode");
  s.has_resize = mode != nullptr;
  if (mode)
    s.resize_mode = mode;
  s.has_sample_rate = gst_structure_get_int(settings, "sample-rate", &s.sample_rate);
  s.has_channels = gst_structure_get_int(settings, "channel-count", &s.channels);
  s.has_sample_size = gst_structure_get_int(settings, "sample-size", &s.sample_size);
  return set_distance(set, s, advanced);
}

GstStructure *reply_success(const GstStructure *settings)
{
  return gst_structure_new("apply-constraints", "settings", GST_TYPE_STRUCTURE, settings, NULL);
}

GstStructure *reply_error(const Error &error)
{
  GError *gerror = error.to_gerror();
  GstStructure *s = gst_structure_new(
      "apply-constraints", "error", G_TYPE_ERROR, gerror, "dom-exception", G_TYPE_STRING,
      gst_web_error_name(error.kind), "message", G_TYPE_STRING, error.message.c_str(), "constraint",
      G_TYPE_STRING, error.constraint.c_str(), NULL);
  g_error_free(gerror);
  return s;
}

} // namespace media_constraints

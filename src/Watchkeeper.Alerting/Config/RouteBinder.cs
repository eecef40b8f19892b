using Watchkeeper.Alerting.Routing;
using Watchkeeper.Alerting.TimeIntervals;
using Watchkeeper.Metrics.Model;
using YamlDotNet.RepresentationModel;

namespace Watchkeeper.Alerting.Config;

/// <summary>Binds the routing tree, applying Alertmanager's inheritance of receiver, grouping and timers.</summary>
internal static class RouteBinder
{
    private static readonly string[] Keys = ["receiver", "group_by", "continue", "matchers", "match", "match_re", "group_wait", "group_interval", "repeat_interval", "mute_time_intervals", "active_time_intervals", "routes"];

    public static Route Bind(YamlBinder b, YamlNode node, string path, Route? parent, int index, IReadOnlySet<string> receivers, IReadOnlyDictionary<string, TimeInterval> intervals)
    {
        string? receiver = null;
        List<string>? groupBy = null;
        bool cont = false;
        var matchers = new List<Matcher>();
        TimeSpan? wait = null, interval = null, repeat = null;
        List<string>? mute = null, active = null;
        YamlNode? routes = null;
        string routesPath = path + ".routes";
        foreach (var (key, v, kn, p) in b.Map(node, path))
        {
            switch (key)
            {
                case "receiver":
                    receiver = b.Str(v, p);
                    if (!receivers.Contains(receiver)) throw b.Error(v, p, $"undefined receiver \"{receiver}\" used in route");
                    break;
                case "group_by":
                    groupBy = b.StrList(v, p);
                    if (groupBy.Contains("...") && groupBy.Count > 1) throw b.Error(v, p, "cannot have wildcard group_by (`...`) and other labels at the same time");
                    var dup = groupBy.GroupBy(x => x).FirstOrDefault(g => g.Count() > 1);
                    if (dup is not null) throw b.Error(v, p, $"duplicated label \"{dup.Key}\" in group_by");
                    break;
                case "continue": cont = b.Bool(v, p); break;
                case "matchers": matchers.AddRange(MatcherList(b, v, p)); break;
                case "match": matchers.AddRange(MatchMap(b, v, p, MatchOp.Equal)); break;
                case "match_re": matchers.AddRange(MatchMap(b, v, p, MatchOp.Regex)); break;
                case "group_wait": wait = b.Duration(v, p); break;
                case "group_interval":
                    interval = b.Duration(v, p);
                    if (interval <= TimeSpan.Zero) throw b.Error(v, p, "group_interval cannot be zero");
                    break;
                case "repeat_interval":
                    repeat = b.Duration(v, p);
                    if (repeat <= TimeSpan.Zero) throw b.Error(v, p, "repeat_interval cannot be zero");
                    break;
                case "mute_time_intervals": mute = Intervals(b, v, p, intervals); break;
                case "active_time_intervals": active = Intervals(b, v, p, intervals); break;
                case "routes": routes = v; routesPath = p; break;
                default: throw b.Unknown(kn, p, Keys);
            }
        }
        if (parent is null)
        {
            if (string.IsNullOrEmpty(receiver)) throw b.Error(node, path + ".receiver", "root route must specify a default receiver");
            if (matchers.Count > 0) throw b.Error(node, path + ".matchers", "root route must not have any matchers");
            if (cont) throw b.Error(node, path + ".continue", "cannot have continue in root route");
            if (mute is not null) throw b.Error(node, path + ".mute_time_intervals", "root route must not have any mute time intervals");
            if (active is not null) throw b.Error(node, path + ".active_time_intervals", "root route must not have any active time intervals");
        }
        var po = parent?.Opts;
        var opts = new RouteOpts(
            receiver ?? po!.Receiver,
            groupBy is null ? po?.GroupBy ?? [] : [.. groupBy.Where(x => x != "...")],
            groupBy is null ? po?.GroupByAll ?? false : groupBy.Contains("..."),
            wait ?? po?.GroupWait ?? RouteOpts.DefaultGroupWait,
            interval ?? po?.GroupInterval ?? RouteOpts.DefaultGroupInterval,
            repeat ?? po?.RepeatInterval ?? RouteOpts.DefaultRepeatInterval,
            mute ?? [],
            active ?? []);
        var route = new Route { Parent = parent, Matchers = new Matchers(matchers), Continue = cont, Opts = opts, Index = index };
        var children = new List<Route>();
        if (routes is not null)
        {
            var i = 0;
            foreach (var (item, ip) in b.Seq(routes, routesPath)) children.Add(Bind(b, item, ip, route, i++, receivers, intervals));
        }
        route.Routes = children;
        return route;
    }

    private static List<string> Intervals(YamlBinder b, YamlNode v, string p, IReadOnlyDictionary<string, TimeInterval> intervals)
    {
        var list = b.StrList(v, p);
        foreach (var n in list)
            if (!intervals.ContainsKey(n)) throw b.Error(v, p, $"undefined time interval \"{n}\" used in route");
        return list;
    }

    public static IEnumerable<Matcher> MatcherList(YamlBinder b, YamlNode v, string p)
    {
        var list = new List<Matcher>();
        foreach (var (item, ip) in b.Seq(v, p))
        {
            try
            {
                list.AddRange(MatcherParser.ParseList(b.Str(item, ip)));
            }
            catch (FormatException ex)
            {
                throw b.Error(item, ip, ex.Message, ex);
            }
        }
        return list;
    }

    public static IEnumerable<Matcher> MatchMap(YamlBinder b, YamlNode v, string p, MatchOp op)
    {
        var list = new List<Matcher>();
        foreach (var (k, val, kn, kp) in b.Map(v, p))
        {
            if (!IsLabelName(k)) throw b.Error(kn, kp, $"\"{k}\" is not a valid label name");
            try
            {
                list.Add(new Matcher(op, k, b.Str(val, kp)));
            }
            catch (FormatException ex)
            {
                throw b.Error(val, kp, ex.Message, ex);
            }
        }
        return list;
    }

    public static bool IsLabelName(string s) =>
        s.Length > 0 && (char.IsAsciiLetter(s[0]) || s[0] == '_') && s.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');
}

/// <summary>Binds <c>time_intervals</c> entries (times, weekdays, days_of_month, months, years, location).</summary>
internal static class TimeIntervalBinder
{
    private static readonly string[] Days = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"];
    private static readonly string[] MonthNames = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"];

    public static TimeInterval Bind(YamlBinder b, YamlNode node, string path)
    {
        string? name = null;
        var specs = new List<TimeIntervalSpec>();
        foreach (var (key, v, kn, p) in b.Map(node, path))
        {
            switch (key)
            {
                case "name": name = b.Str(v, p); break;
                case "time_intervals": foreach (var (item, ip) in b.Seq(v, p)) specs.Add(Spec(b, item, ip)); break;
                default: throw b.Unknown(kn, p, ["name", "time_intervals"]);
            }
        }
        if (string.IsNullOrEmpty(name)) throw b.Error(node, path + ".name", "missing name in time interval");
        return new TimeInterval(name, specs);
    }

    private static TimeIntervalSpec Spec(YamlBinder b, YamlNode node, string path)
    {
        var times = new List<MinuteRange>();
        var weekdays = new List<IntRange>();
        var dom = new List<IntRange>();
        var months = new List<IntRange>();
        var years = new List<IntRange>();
        TimeZoneInfo? location = null;
        foreach (var (key, v, kn, p) in b.Map(node, path))
        {
            switch (key)
            {
                case "times":
                    foreach (var (item, ip) in b.Seq(v, p))
                    {
                        int? start = null, end = null;
                        foreach (var (k2, v2, kn2, p2) in b.Map(item, ip))
                        {
                            if (k2 == "start_time") start = Clock(b, v2, p2);
                            else if (k2 == "end_time") end = Clock(b, v2, p2);
                            else throw b.Unknown(kn2, p2, ["start_time", "end_time"]);
                        }
                        if (start is null || end is null) throw b.Error(item, ip, "both start and end times must be provided");
                        if (start >= end) throw b.Error(item, ip, "start time cannot be equal or greater than end time");
                        times.Add(new MinuteRange(start.Value, end.Value));
                    }
                    break;
                case "weekdays": foreach (var (item, ip) in b.Seq(v, p)) weekdays.Add(Range(b, item, ip, s => Named(s, Days, 0), 0, 6, "weekday")); break;
                case "days_of_month":
                    foreach (var (item, ip) in b.Seq(v, p))
                    {
                        var r = Range(b, item, ip, s => int.TryParse(s, System.Globalization.CultureInfo.InvariantCulture, out var d) ? d : null, -31, 31, "day of month");
                        if (r.Begin == 0 || r.End == 0) throw b.Error(item, ip, "0 is not a valid day of month");
                        if (Math.Sign(r.Begin) == Math.Sign(r.End) && r.Begin > r.End) throw b.Error(item, ip, "start day cannot be after end day");
                        dom.Add(r);
                    }
                    break;
                case "months": foreach (var (item, ip) in b.Seq(v, p)) months.Add(Range(b, item, ip, s => Named(s, MonthNames, 1) ?? (int.TryParse(s, System.Globalization.CultureInfo.InvariantCulture, out var m) ? m : null), 1, 12, "month")); break;
                case "years": foreach (var (item, ip) in b.Seq(v, p)) years.Add(Range(b, item, ip, s => int.TryParse(s, System.Globalization.CultureInfo.InvariantCulture, out var y) ? y : null, 1, 9999, "year")); break;
                case "location":
                    var zone = b.Str(v, p);
                    if (zone is "" or "UTC" or "Local") { location = zone == "Local" ? TimeZoneInfo.Local : TimeZoneInfo.Utc; break; }
                    try
                    {
                        location = TimeZoneInfo.FindSystemTimeZoneById(zone);
                    }
                    catch (Exception ex) when (ex is TimeZoneNotFoundException or InvalidTimeZoneException)
                    {
                        throw b.Error(v, p, $"unknown time zone \"{zone}\"", ex);
                    }
                    break;
                default: throw b.Unknown(kn, p, ["times", "weekdays", "days_of_month", "months", "years", "location"]);
            }
        }
        return new TimeIntervalSpec(times, weekdays, dom, months, years, location);
    }

    private static int? Named(string s, string[] names, int first)
    {
        var i = Array.IndexOf(names, s.ToLowerInvariant());
        return i < 0 ? null : i + first;
    }

    private static IntRange Range(YamlBinder b, YamlNode node, string path, Func<string, int?> parse, int min, int max, string what)
    {
        var s = b.Str(node, path).Trim();
        var colon = s.IndexOf(':', 1);
        var (a, z) = colon > 0 ? (s[..colon], s[(colon + 1)..]) : (s, s);
        var begin = parse(a.Trim());
        var end = parse(z.Trim());
        if (begin is null || end is null || begin < min || end > max || begin > max || end < min)
            throw b.Error(node, path, $"\"{s}\" is not a valid {what} range");
        if (what != "day of month" && begin > end) throw b.Error(node, path, $"start {what} cannot be after end {what}");
        return new IntRange(begin.Value, end.Value);
    }

    private static int Clock(YamlBinder b, YamlNode node, string path)
    {
        var s = b.Str(node, path);
        var parts = s.Split(':');
        if (parts.Length != 2 || parts[0].Length is < 1 or > 2 || parts[1].Length != 2
            || !int.TryParse(parts[0], System.Globalization.CultureInfo.InvariantCulture, out var h) || !int.TryParse(parts[1], System.Globalization.CultureInfo.InvariantCulture, out var m)
            || h < 0 || m is < 0 or > 59 || h > 24 || (h == 24 && m != 0))
            throw b.Error(node, path, $"couldn't parse timestamp \"{s}\", invalid format");
        return h * 60 + m;
    }
}

// Grafana's unit ids as text, shared by the dashboards and /query: the same table as Dashboards/Units.cs on the server.
(function () {
  "use strict";
  function num(v, d) {
    var dec = d;
    if (dec === undefined || dec === null) {
      var a = Math.abs(v);
      dec = a === 0 || a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : Math.min(10, 2 - Math.floor(Math.log10(a)));
      var s = v.toFixed(dec);
      return s.indexOf(".") >= 0 ? s.replace(/0+$/, "").replace(/\.$/, "") : s;
    }
    return v.toFixed(dec);
  }
  function scaled(v, factor, suffixes, sep, d) {
    var i = 0;
    while (Math.abs(v) >= factor && i < suffixes.length - 1) { v /= factor; i++; }
    return num(v, d) + (!suffixes[i] ? "" : sep === "" ? suffixes[i] : sep + suffixes[i].trim());
  }
  function time(s, d) {
    var a = Math.abs(s);
    if (a === 0) return "0 s";
    if (a < 1e-6) return num(s * 1e9, d) + " ns";
    if (a < 1e-3) return num(s * 1e6, d) + " µs";
    if (a < 1) return num(s * 1e3, d) + " ms";
    if (a < 60) return num(s, d) + " s";
    if (a < 3600) return num(s / 60, d) + " min";
    if (a < 86400) return num(s / 3600, d) + " hour";
    return num(s / 86400, d) + " day";
  }
  var SHORT = ["", " K", " Mil", " Bil", " Tri", " Quadr"], IEC = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"], SI = ["B", "kB", "MB", "GB", "TB", "PB"];
  var BITS = ["b", "kb", "Mb", "Gb", "Tb", "Pb"];
  function fmt(v, unit, d) {
    if (v === null || v === undefined) return "–";
    if (isNaN(v)) return "NaN";
    if (!isFinite(v)) return v > 0 ? "+Inf" : "-Inf";
    switch (unit) {
      case "percent": return num(v, d) + "%";
      case "percentunit": return num(v * 100, d) + "%";
      case "s": case "dtdurations": return time(v, d);
      case "ms": return time(v / 1e3, d);
      case "µs": case "us": return time(v / 1e6, d);
      case "ns": return time(v / 1e9, d);
      case "m": return time(v * 60, d);
      case "h": return time(v * 3600, d);
      case "d": return time(v * 86400, d);
      case "bytes": return scaled(v, 1024, IEC, " ", d);
      case "decbytes": return scaled(v, 1000, SI, " ", d);
      case "bits": return scaled(v, 1000, BITS, " ", d);
      case "kbytes": return scaled(v * 1024, 1024, IEC, " ", d);
      case "mbytes": return scaled(v * 1048576, 1024, IEC, " ", d);
      case "Bps": case "binBps": return scaled(v, 1024, IEC, " ", d) + "/s";
      case "decBps": return scaled(v, 1000, SI, " ", d) + "/s";
      case "bps": case "binbps": return scaled(v, 1000, BITS, " ", d) + "/s";
      case "reqps": return scaled(v, 1000, SHORT, "", d) + " req/s";
      case "rps": return scaled(v, 1000, SHORT, "", d) + " rd/s";
      case "wps": return scaled(v, 1000, SHORT, "", d) + " wr/s";
      case "iops": return scaled(v, 1000, SHORT, "", d) + " io/s";
      case "ops": return scaled(v, 1000, SHORT, "", d) + " ops/s";
      case "opm": return scaled(v, 1000, SHORT, "", d) + " ops/min";
      case "reqpm": case "rpm": return scaled(v, 1000, SHORT, "", d) + " req/min";
      case "hertz": return scaled(v, 1000, ["Hz", "kHz", "MHz", "GHz", "THz", "PHz"], " ", d);
      case "celsius": return num(v, d) + "°C";
      case "none": return num(v, d);
      case "": case "short": case undefined: return scaled(v, 1000, SHORT, "", d);
    }
    if (unit.indexOf("suffix:") === 0) return scaled(v, 1000, SHORT, "", d) + unit.slice(7);
    if (unit.indexOf("prefix:") === 0) return unit.slice(7) + scaled(v, 1000, SHORT, "", d);
    return scaled(v, 1000, SHORT, "", d) + " " + unit;
  }

  window.wkUnits = { format: fmt };
})();

/**
 * The small inline-SVG chart builders of the HTML reports (plain strings, no dependencies, no scripts), for other
 * reports that want the same look: grouped bars with CI whiskers, lines, heat maps, histograms, and the XML
 * escaping every text in them goes through.
 *
 * @since 0.1.0
 */
export {
  /**
   * @since 0.1.0
   * @category models
   */
  type BarSeries,
  /**
   * Escapes text for XML/HTML content and attribute values.
   *
   * @since 0.1.0
   * @category rendering
   */
  escapeXml,
  /**
   * Grouped bars on a 0..max axis with CI whiskers.
   *
   * @since 0.1.0
   * @category rendering
   */
  groupedBars,
  /**
   * A heat map of a square matrix, shaded by row share.
   *
   * @since 0.1.0
   * @category rendering
   */
  heatMap,
  /**
   * Histogram bars, optionally several series.
   *
   * @since 0.1.0
   * @category rendering
   */
  histogram,
  /**
   * A legend: a color swatch and a name per line, from (x, y).
   *
   * @since 0.1.0
   * @category rendering
   */
  legend,
  /**
   * Lines over ordered categories.
   *
   * @since 0.1.0
   * @category rendering
   */
  lines,
  /**
   * The series colors.
   *
   * @since 0.1.0
   * @category constants
   */
  palette,
  /**
   * An `<svg>` frame of at least a width, with its title on top and a body inside.
   *
   * @since 0.1.0
   * @category rendering
   */
  svg as frame
} from "./internal/svg.js"

import { useNow } from '../hooks/useNow'
import { THROUGHPUT_WINDOW_S, niceCeiling, throughputSeries } from '../state/charts'
import { Section } from './Section'

const WIDTH = 400
const HEIGHT = 150
const PAD = { left: 40, right: 8, top: 12, bottom: 22 }

interface Props {
  buckets: Readonly<Record<number, number>>
  /** Server clock minus browser clock: buckets are keyed by the server's createdAt. */
  serverOffsetMs: number
}

export function ThroughputChart({ buckets, serverOffsetMs }: Props) {
  // Ticks every second so the window scrolls even when nothing happens.
  const now = useNow(1_000)
  const endSecond = Math.floor((now + serverOffsetMs) / 1000)
  const series = throughputSeries(buckets, endSecond)
  const peak = series.reduce((m, p) => Math.max(m, p.count), 0)
  const top = niceCeiling(peak)
  // The current second is still filling up; "now" quotes the last complete one.
  const current = series.length >= 2 ? series[series.length - 2].count : 0
  const plotW = WIDTH - PAD.left - PAD.right
  const plotH = HEIGHT - PAD.top - PAD.bottom
  const barW = plotW / THROUGHPUT_WINDOW_S

  return (
    <Section
      title="Throughput"
      className="area-throughput"
      aside={<span className="muted small">{`${current} ops/s now · peak ${peak}`}</span>}
    >
      <svg role="img" aria-label="Operations per second" viewBox={`0 0 ${WIDTH} ${HEIGHT}`} className="chart">
        <desc>{`Committed transactions per second over the last ${THROUGHPUT_WINDOW_S} seconds; ${current} in the last second, peak ${peak}.`}</desc>
        <line x1={PAD.left} x2={WIDTH - PAD.right} y1={PAD.top + plotH} y2={PAD.top + plotH} className="axis" />
        <line x1={PAD.left} x2={WIDTH - PAD.right} y1={PAD.top} y2={PAD.top} className="grid-line" />
        <text x={PAD.left - 6} y={PAD.top + 4} className="tick" textAnchor="end">{top}</text>
        <text x={PAD.left - 6} y={PAD.top + plotH + 4} className="tick" textAnchor="end">0</text>
        <text x={PAD.left} y={HEIGHT - 4} className="tick">{`−${THROUGHPUT_WINDOW_S} s`}</text>
        <text x={WIDTH - PAD.right} y={HEIGHT - 4} className="tick" textAnchor="end">now</text>
        {series.map((p, i) => {
          if (p.count === 0) return null
          const h = (p.count / top) * plotH
          return <rect key={p.second} x={PAD.left + i * barW + 1} y={PAD.top + plotH - h} width={Math.max(barW - 2, 1)} height={h} className="bar" />
        })}
        {peak === 0 && (
          <text x={PAD.left + plotW / 2} y={PAD.top + plotH / 2} className="chart-empty" textAnchor="middle">
            No operations in the last {THROUGHPUT_WINDOW_S} s
          </text>
        )}
      </svg>
    </Section>
  )
}

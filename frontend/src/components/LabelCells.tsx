import type { Labels } from '../api/types'
import { metadataText } from '../state/labels'

/** A row's reference and metadata cells; long text is cut by CSS, and kept whole in the title. */
export function LabelCells({ reference, metadata }: Labels) {
  const text = metadataText(metadata)
  return (
    <>
      <td className="label-cell" data-label="reference" title={reference}>{reference ?? ''}</td>
      <td className="label-cell" data-label="metadata" title={text || undefined}>{text}</td>
    </>
  )
}

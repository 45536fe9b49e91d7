import { useId, type ReactNode } from 'react'

interface Props {
  title: string
  className?: string
  /** Shown beside the heading (a summary figure, say). */
  aside?: ReactNode
  children: ReactNode
}

/** A card with an h2; labelled by it, so each section is a named region landmark. */
export function Section({ title, className, aside, children }: Props) {
  const id = useId()
  return (
    <section className={`card ${className ?? ''}`} aria-labelledby={id}>
      <div className="section-head">
        <h2 id={id}>{title}</h2>
        {aside}
      </div>
      {children}
    </section>
  )
}

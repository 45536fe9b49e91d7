import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import { App } from './App'
import { takeStartupToken } from './session'
import './styles.css'

// Read (and strip) the sign-in link's token before React renders, exactly once.
const startupToken = takeStartupToken()

const root = document.getElementById('root')
if (root === null) throw new Error('index.html has no #root element')
createRoot(root).render(
  <StrictMode>
    <App startupToken={startupToken} />
  </StrictMode>,
)
